package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// MailpitVersion is the Mailpit the Makefile builds (go install, once, into
// MailpitDefaultBin's directory) and the tests run.
const MailpitVersion = "v1.33.1"

// MailpitDefaultBin is where `make deps` puts Mailpit when PRISM_MAILPIT_BIN
// names no other place: a cache outside the repo, kept across clones.
func MailpitDefaultBin() string {
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return filepath.Join(home, ".cache", "prism-tools", "mailpit-"+MailpitVersion, "mailpit")
}

// Mailpit is a private Mailpit (an SMTP server that keeps what it receives
// and shows it over HTTP) on free ports, for tests of the e-mail channel.
type Mailpit struct {
	// SMTPAddr is host:port of its SMTP server.
	SMTPAddr string
	// API is the base URL of its HTTP API and web UI.
	API string

	dir string
	srv *server
}

// StartMailpit starts Mailpit ($PRISM_MAILPIT_BIN, or MailpitDefaultBin)
// with its own database in a temporary directory.
func StartMailpit() (*Mailpit, error) {
	bin := os.Getenv("PRISM_MAILPIT_BIN")
	if bin == "" {
		bin = MailpitDefaultBin()
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("mailpit not found at %s: run `make deps` (builds Mailpit %s once, about 4 minutes) or set PRISM_MAILPIT_BIN", bin, MailpitVersion)
	}
	dir, err := os.MkdirTemp("", "prism-mailpit-")
	if err != nil {
		return nil, err
	}
	m := &Mailpit{dir: dir}
	for attempt := 1; ; attempt++ {
		smtpPort, err := FreePort()
		if err != nil {
			return nil, err
		}
		httpPort, err := FreePort()
		if err != nil {
			return nil, err
		}
		m.SMTPAddr, m.API = fmt.Sprintf("127.0.0.1:%d", smtpPort), fmt.Sprintf("http://127.0.0.1:%d", httpPort)
		cmd := exec.Command(bin, MailpitArgs(filepath.Join(dir, "mailpit.db"), m.SMTPAddr, fmt.Sprintf("127.0.0.1:%d", httpPort))...)
		if m.srv, err = startServer(cmd, filepath.Join(dir, "mailpit.log"), startTimeout, smtpPort, httpPort); err == nil {
			return m, nil
		}
		if !errors.Is(err, errExited) || attempt == startAttempts {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("mailpit: %w", err)
		}
	}
}

// MailpitArgs are the flags Prism runs Mailpit with: its own database, the
// given SMTP and HTTP addresses, any (or no) SMTP login accepted, and no
// outside lookups (no internet here).
func MailpitArgs(database, smtpAddr, httpAddr string) []string {
	return []string{
		"--database", database, "--smtp", smtpAddr, "--listen", httpAddr,
		"--smtp-auth-accept-any", "--smtp-auth-allow-insecure", "--smtp-disable-rdns",
		"--disable-version-check", "--quiet",
	}
}

// Stop kills Mailpit and removes its data.
func (m *Mailpit) Stop() {
	m.srv.stop()
	_ = os.RemoveAll(m.dir)
}

// MailAddress is a sender or recipient as Mailpit's API shows it.
type MailAddress struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

// Mail is one message Mailpit received, with its bodies.
type Mail struct {
	ID        string        `json:"ID"`
	MessageID string        `json:"MessageID"`
	From      MailAddress   `json:"From"`
	To        []MailAddress `json:"To"`
	Subject   string        `json:"Subject"`
	Text      string        `json:"Text"`
	HTML      string        `json:"HTML"`
}

// Messages returns every message sent to address (newest first), with
// their text and HTML bodies, read through Mailpit's HTTP API.
func (m *Mailpit) Messages(ctx context.Context, address string) ([]Mail, error) {
	var list struct {
		Messages []Mail `json:"messages"`
	}
	q := url.Values{"query": {"to:" + strconv.Quote(address)}, "limit": {"200"}}
	if err := m.get(ctx, "/api/v1/search?"+q.Encode(), &list); err != nil {
		return nil, err
	}
	out := make([]Mail, 0, len(list.Messages))
	for _, summary := range list.Messages {
		var full Mail
		if err := m.get(ctx, "/api/v1/message/"+url.PathEscape(summary.ID), &full); err != nil {
			return nil, err
		}
		out = append(out, full)
	}
	return out, nil
}

func (m *Mailpit) get(ctx context.Context, path string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.API+path, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return errors.New("mailpit " + path + ": " + res.Status)
	}
	return json.NewDecoder(res.Body).Decode(into)
}
