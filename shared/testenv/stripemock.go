package testenv

import (
	"bufio"
	"embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"time"
)

// StripeMockVersion is the stripe-mock the Makefile installs
// (go install github.com/stripe/stripe-mock@<version>).
const StripeMockVersion = "v0.203.0"

// Fixtures stripe-mock answers with. stripe-mock is stateless and answers
// every request with its fixture of the resource, whatever was asked; its
// bundled PaymentIntent is an unconfirmed one (requires_payment_method).
// These are what Stripe answers a confirmed PaymentIntent whose card was
// charged (approving) or declined (declining), and a refund.
//
//go:embed stripemock/*.json
var stripeFixtures embed.FS

// StripeMock is a private stripe-mock on a free loopback port.
type StripeMock struct {
	// URL is its base URL (http://127.0.0.1:port), the Stripe API base.
	URL string
	dir string
	cmd *exec.Cmd
}

// StripeOutcome picks the fixtures: what every charge comes back as.
type StripeOutcome string

// The outcomes a StripeMock can give.
const (
	StripeApproves StripeOutcome = "approving"
	StripeDeclines StripeOutcome = "declining"
)

// StripeMockBin finds stripe-mock: $PRISM_STRIPE_MOCK_BIN, the path `make
// test-deps` installs it to (~/.cache/prism-tools/stripe-mock-<version>/,
// beside Mailpit), or the PATH.
func StripeMockBin() (string, error) {
	if p := os.Getenv("PRISM_STRIPE_MOCK_BIN"); p != "" {
		return p, nil
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, ".cache", "prism-tools", "stripe-mock-"+StripeMockVersion, "stripe-mock")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	return "", errors.New("stripe-mock not found: run `make test-deps` (go install github.com/stripe/stripe-mock@" + StripeMockVersion + " into ~/.cache/prism-tools) or set PRISM_STRIPE_MOCK_BIN")
}

var listeningRE = regexp.MustCompile(`Listening for HTTP at address: (127\.0\.0\.1:\d+)`)

// StartStripeMock runs stripe-mock on free loopback ports (HTTP and the
// HTTPS it always opens), answering with the outcome's fixtures.
func StartStripeMock(outcome StripeOutcome) (*StripeMock, error) {
	bin, err := StripeMockBin()
	if err != nil {
		return nil, err
	}
	fixtures, err := stripeFixtures.ReadFile("stripemock/" + string(outcome) + ".json")
	if err != nil {
		return nil, fmt.Errorf("stripe-mock fixtures %q: %w", outcome, err)
	}
	dir, err := os.MkdirTemp("", "prism-stripe-mock-")
	if err != nil {
		return nil, err
	}
	s := &StripeMock{dir: dir}
	path := filepath.Join(dir, "fixtures.json")
	if err := os.WriteFile(path, fixtures, 0o644); err != nil {
		s.Stop()
		return nil, err
	}
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0", "-fixtures", path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.Stop()
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		s.Stop()
		return nil, fmt.Errorf("start stripe-mock: %w", err)
	}
	s.cmd = cmd
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case addr := <-found:
		s.URL = "http://" + addr
		return s, nil
	case <-time.After(30 * time.Second):
		s.Stop()
		return nil, errors.New("stripe-mock did not say where it listens within 30 s")
	}
}

// Stop kills stripe-mock and removes its fixtures.
func (s *StripeMock) Stop() {
	kill(s.cmd)
	_ = os.RemoveAll(s.dir)
}
