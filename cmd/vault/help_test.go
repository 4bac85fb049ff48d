package main

import (
	"context"
	"sort"
	"strings"
	"testing"
)

func runCaptured(args ...string) (stdout, stderr string, code int) {
	var out, errOut strings.Builder
	code = run(context.Background(), args, &stdio{in: strings.NewReader(""), out: &out, err: &errOut, getenv: func(string) string { return "" }})
	return out.String(), errOut.String(), code
}

// TestHelpCommand: for every registered command, vault help CMD prints what vault CMD -h
// prints, on the same stream, exits 0 as it does, and what it prints is the command's own
// usage, not the list of commands.
func TestHelpCommand(t *testing.T) {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) < 15 {
		t.Fatalf("only %d commands registered: %v", len(names), names)
	}
	var top strings.Builder
	usage(&top)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			hOut, hErr, hCode := runCaptured(name, "-h")
			out, errOut, code := runCaptured("help", name)
			if hCode != exitOK || code != exitOK {
				t.Errorf("exit: vault %s -h %d, vault help %s %d; want 0 for both", name, hCode, name, code)
			}
			if out != hOut || errOut != hErr {
				t.Errorf("vault help %s printed\nstdout %q\nstderr %q\nwant what vault %s -h prints\nstdout %q\nstderr %q", name, out, errOut, name, hOut, hErr)
			}
			if !strings.HasPrefix(hOut+hErr, "usage: vault "+name) {
				t.Errorf("vault %s -h begins %q, want \"usage: vault %s\"", name, firstLine(hOut+hErr), name)
			}
			if out == top.String() {
				t.Errorf("vault help %s printed the list of commands", name)
			}
		})
	}
}

func TestHelpTopLevel(t *testing.T) {
	var top strings.Builder
	usage(&top)
	for _, tc := range []struct {
		args     []string
		wantOut  string
		wantErr  string
		wantCode int
	}{
		{args: []string{"help"}, wantOut: top.String(), wantCode: exitOK},
		{args: []string{"-h"}, wantOut: top.String(), wantCode: exitOK},
		{args: []string{"--help"}, wantOut: top.String(), wantCode: exitOK},
		{args: nil, wantOut: top.String(), wantCode: exitUsage},
		{args: []string{"help", "frobnicate"}, wantErr: "vault: unknown command \"frobnicate\"; run \"vault help\" for the list\n", wantCode: exitUsage},
		{args: []string{"help", "pull", "status"}, wantErr: "vault help: takes one command, got \"pull\", \"status\"\n", wantCode: exitUsage},
		{args: []string{"version", "-h"}, wantErr: "usage: vault version\n", wantCode: exitOK},
	} {
		out, errOut, code := runCaptured(tc.args...)
		if out != tc.wantOut || errOut != tc.wantErr || code != tc.wantCode {
			t.Errorf("vault %v: got %d, stdout %q, stderr %q; want %d, %q, %q", tc.args, code, out, errOut, tc.wantCode, tc.wantOut, tc.wantErr)
		}
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
