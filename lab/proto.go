package lab

// The wire protocol between the harness and the guest agent: one JSON object per line over a
// virtio-serial port, requests from the host and responses from the guest matched by ID. The
// guest has no network interface at all; this port and the read-only 9p share are its only links
// to the host.

// Request asks the agent to run one command.
type Request struct {
	ID uint64 `json:"id"`
	// Argv is run directly (no shell) unless the test chooses to run a shell itself.
	Argv []string `json:"argv,omitempty"`
	// User is the guest account to run as; empty means root.
	User string `json:"user,omitempty"`
	// Env is added to a minimal environment (PATH, HOME, USER, LC_ALL=C).
	Env   []string `json:"env,omitempty"`
	Stdin []byte   `json:"stdin,omitempty"`
	Dir   string   `json:"dir,omitempty"`
	// TimeoutMS kills the command's process group after this long; 0 means no limit.
	TimeoutMS int64 `json:"timeout_ms,omitempty"`
	// Op is empty for a command, or "poweroff".
	Op string `json:"op,omitempty"`
}

// Response is the outcome of one request. ID 0 with Ready set is the agent's greeting.
type Response struct {
	ID       uint64 `json:"id"`
	Ready    bool   `json:"ready,omitempty"`
	Stdout   []byte `json:"stdout,omitempty"`
	Stderr   []byte `json:"stderr,omitempty"`
	Exit     int    `json:"exit"`
	Error    string `json:"error,omitempty"`
	TimedOut bool   `json:"timed_out,omitempty"`
	Millis   int64  `json:"ms"`
}

// PortName is the virtio-serial port name the agent listens on.
const PortName = "vault.lab"
