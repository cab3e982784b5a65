package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Defaults of the service URLs.
const (
	DefaultAPI     = "http://localhost:8080"
	DefaultStreams = "http://localhost:8081"
	DefaultUpdater = "http://localhost:8083"
)

// globals are the flags every command accepts, before or after its name.
type globals struct {
	api, streams, updater string
	// token and user hold only what was given on the command line; the
	// environment ($PRISM_TOKEN, $PRISM_USER) is consulted when they are empty.
	token, user string
	json        bool
}

func (a *App) defaultGlobals() *globals {
	return &globals{
		api:     or(a.env("PRISM_API"), DefaultAPI),
		streams: or(a.env("PRISM_STREAMS"), DefaultStreams),
		updater: or(a.env("PRISM_UPDATER"), DefaultUpdater),
	}
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// globalFlags names the flags register defines.
var globalFlags = map[string]bool{"api": true, "streams": true, "updater": true, "token": true, "user": true, "json": true}

// register defines the global flags on fs, defaulting to g's current values.
func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.api, "api", g.api, "`URL` of prism-api ($PRISM_API)")
	fs.StringVar(&g.streams, "streams", g.streams, "`URL` of stream-service, for watch ($PRISM_STREAMS)")
	fs.StringVar(&g.updater, "updater", g.updater, "`URL` of readmodel-updater, for rebuild ($PRISM_UPDATER)")
	fs.Var((*secret)(&g.token), "token", "bearer `TOKEN` (default $PRISM_TOKEN)")
	fs.StringVar(&g.user, "user", g.user, "with no --token: fetch a dev token for user `NAME` (dev mode; default $PRISM_USER)")
	fs.BoolVar(&g.json, "json", g.json, "print JSON instead of text")
}

// secret is a string flag whose value never shows in help.
type secret string

func (s *secret) String() string     { return "" }
func (s *secret) Set(v string) error { *s = secret(v); return nil }

// spec describes a leaf command for its help.
type spec struct {
	args     string // e.g. "<cartId> <sku> <qty>"
	about    string
	examples string
	// minArgs and maxArgs bound the positional arguments (maxArgs < 0: any).
	minArgs, maxArgs int
	// exitCodes adds the exit-code table to the help.
	exitCodes bool
}

// invocation is one run of a leaf command: its flags and the globals.
type invocation struct {
	*App
	g    *globals
	path string
	fs   *flag.FlagSet
}

func (a *App) invoke(g *globals, path string) *invocation {
	fs := flag.NewFlagSet("prismctl "+path, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	g.register(fs)
	return &invocation{App: a, g: g, path: path, fs: fs}
}

// parse parses args (flags may come before, between or after positional
// arguments; "--" ends flags) and checks the number of positional ones.
// On --help it prints the command's help to Stdout and returns errHelp.
func (in *invocation) parse(s spec, args []string) ([]string, error) {
	var pos []string
	for {
		if err := in.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				in.usage(in.Stdout, s)
				return nil, errHelp
			}
			return nil, usagef(in.path, "%v", err)
		}
		rest := in.fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	switch {
	case len(pos) < s.minArgs:
		return nil, usagef(in.path, "missing arguments: want %s", s.args)
	case s.maxArgs >= 0 && len(pos) > s.maxArgs:
		return nil, usagef(in.path, "too many arguments (%q): want %s", strings.Join(pos, " "), or(s.args, "none"))
	}
	return pos, nil
}

// usage prints the command's help.
func (in *invocation) usage(w io.Writer, s spec) {
	fmt.Fprintf(w, "Usage: prismctl %s", in.path)
	if s.args != "" {
		fmt.Fprintf(w, " %s", s.args)
	}
	fmt.Fprint(w, " [flags]\n\n")
	fmt.Fprintln(w, strings.TrimSpace(s.about))
	own := false
	in.fs.VisitAll(func(f *flag.Flag) { own = own || !globalFlags[f.Name] })
	if own {
		fmt.Fprint(w, "\nFlags:\n")
		printFlags(w, in.fs, func(name string) bool { return !globalFlags[name] })
	}
	fmt.Fprint(w, "\nGlobal flags:\n")
	printFlags(w, in.fs, func(name string) bool { return globalFlags[name] })
	if ex := strings.TrimSpace(s.examples); ex != "" {
		fmt.Fprint(w, "\nExamples:\n")
		for _, line := range strings.Split(ex, "\n") {
			fmt.Fprintf(w, "  %s\n", strings.TrimSpace(line))
		}
	}
	if s.exitCodes {
		fmt.Fprint(w, "\n"+exitCodesHelp)
	}
}

func (a *App) globalsUsage(w io.Writer) {
	fs := flag.NewFlagSet("prismctl", flag.ContinueOnError)
	a.defaultGlobals().register(fs)
	fmt.Fprint(w, "Global flags (before or after the command):\n")
	printFlags(w, fs, func(string) bool { return true })
}

// printFlags lists the flags keep selects, GNU style (--name).
func printFlags(w io.Writer, fs *flag.FlagSet, keep func(string) bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		if !keep(f.Name) {
			return
		}
		kind, usage := flag.UnquoteUsage(f)
		name := "--" + f.Name
		if kind != "" {
			name += " " + kind
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
			def = fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(tw, "  %s\t%s%s\n", name, usage, def)
	})
	tw.Flush()
}
