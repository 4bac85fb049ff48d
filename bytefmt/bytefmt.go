// Package bytefmt writes byte counts for people: the one formatter every command, report and
// message uses, so that a size reads the same wherever vault prints it.
package bytefmt

import "fmt"

// IEC writes n in binary units with one decimal: "512 B", "6.1 MiB", "1.2 GiB".
func IEC(n int64) string {
	const unit = 1024
	if n < unit && n > -unit {
		return fmt.Sprintf("%d B", n)
	}
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%s%.1f %ciB", sign, float64(n)/float64(div), "KMGTPE"[exp])
}
