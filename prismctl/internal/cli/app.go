// Package cli implements prismctl's commands: each one parses its own flags
// (the standard flag package, flags allowed before and after arguments),
// talks to Prism through internal/client, internal/sse or the kit's storage
// adapters, and prints text or, with --json, JSON.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// Exit codes (documented in `prismctl --help`).
const (
	// ExitOK: success (a command succeeded).
	ExitOK = 0
	// ExitFailure: usage error, a service could not be reached, or it
	// refused the request (a problem+json answer).
	ExitFailure = 1
	// ExitRejected: the command was rejected or failed; a rebuild failed.
	ExitRejected = 2
	// ExitPending: the command was still pending when --timeout ran out.
	ExitPending = 3
	// ExitInterrupted: stopped by Ctrl-C (SIGINT) or SIGTERM.
	ExitInterrupted = 130
)

// App runs prismctl. The zero value is not usable; use New.
type App struct {
	// Stdout receives results, Stderr errors and progress notes.
	Stdout, Stderr io.Writer
	// LookupEnv reads the environment (os.LookupEnv in the real program).
	LookupEnv func(string) (string, bool)
	// HTTP makes every HTTP call, streams included, so it must not set an
	// overall Timeout (nil: a 30 s-timeout client for requests and a
	// header-timeout-only client for streams).
	HTTP *http.Client
	// PollInterval is the first delay between command-status polls (0: 100 ms).
	PollInterval time.Duration
	// RebuildInterval is the delay between rebuild-progress polls (0: 500 ms).
	RebuildInterval time.Duration
	// StreamBackoff is the first reconnect delay of `watch` (0: 500 ms).
	StreamBackoff time.Duration
	// Now tells the time for `watch` lines (nil: time.Now).
	Now func() time.Time
}

// New returns an App writing to stdout and stderr and reading the
// environment through lookupEnv (nil: os.LookupEnv).
func New(stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) *App {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	return &App{Stdout: stdout, Stderr: stderr, LookupEnv: lookupEnv}
}

func (a *App) env(key string) string {
	v, _ := a.LookupEnv(key)
	return strings.TrimSpace(v)
}

func (a *App) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// ExitError ends prismctl with Code. A nil Err means the outcome was already
// printed, so nothing more is said.
type ExitError struct {
	Code int
	Err  error
}

// Error is Err's message, or the exit status when Err is nil.
func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

// Unwrap returns Err.
func (e *ExitError) Unwrap() error { return e.Err }

// exit returns an ExitError with code whose outcome was already printed.
func exit(code int) error { return &ExitError{Code: code} }

// errHelp is returned after help was printed on request: exit 0, silently.
var errHelp = &ExitError{Code: ExitOK}

// usageError is a mistake on the command line.
type usageError struct {
	msg  string
	path string // the command, for "Run 'prismctl <path> --help'"
}

func (e *usageError) Error() string {
	hint := "prismctl --help"
	if e.path != "" {
		hint = "prismctl " + e.path + " --help"
	}
	return e.msg + "\nRun '" + hint + "' for usage."
}

func usagef(path, format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...), path: path}
}

// ExitCode is the process exit code for err, the result of Run.
func ExitCode(err error) int {
	var ee *ExitError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.Code
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	}
	return ExitFailure
}

// Report prints err (if it has anything to say) to Stderr as
// "prismctl: <message>" and returns the exit code for it.
func (a *App) Report(err error) int {
	code := ExitCode(err)
	var ee *ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Err == nil:
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(a.Stderr, "prismctl: interrupted")
	default:
		fmt.Fprintln(a.Stderr, "prismctl: "+err.Error())
	}
	return code
}

// Run runs the command line args (without the program name).
func (a *App) Run(ctx context.Context, args []string) error {
	g := a.defaultGlobals()
	fs := flag.NewFlagSet("prismctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	g.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.rootUsage(a.Stdout)
			return errHelp
		}
		return usagef("", "%v", err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		a.rootUsage(a.Stderr)
		return exit(ExitFailure)
	}
	if rest[0] == "help" {
		return a.help(rest[1:])
	}
	return a.dispatch(ctx, g, root(), rest, "")
}

// dispatch finds the command named by args[0] among group's and runs it.
func (a *App) dispatch(ctx context.Context, g *globals, group *command, args []string, prefix string) error {
	name := args[0]
	c := group.find(name)
	if c == nil {
		if isHelpArg(name) {
			a.groupUsage(a.Stdout, group, prefix)
			return errHelp
		}
		return usagef(strings.TrimSpace(prefix), "unknown command %q", strings.TrimSpace(prefix+" "+name))
	}
	path := strings.TrimSpace(prefix + " " + c.name)
	if c.run != nil {
		return c.run(ctx, a.invoke(g, path), args[1:])
	}
	if len(args) == 1 {
		a.groupUsage(a.Stderr, c, path)
		return exit(ExitFailure)
	}
	if args[1] == "help" {
		a.groupUsage(a.Stdout, c, path)
		return errHelp
	}
	return a.dispatch(ctx, g, c, args[1:], path)
}

// help serves `prismctl help [command...]`.
func (a *App) help(args []string) error {
	if len(args) == 0 {
		a.rootUsage(a.Stdout)
		return errHelp
	}
	return a.dispatch(context.Background(), a.defaultGlobals(), root(), append(args, "--help"), "")
}

func isHelpArg(s string) bool {
	switch s {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}
