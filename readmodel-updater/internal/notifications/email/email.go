// Package email is the e-mail channel: each notification becomes a
// multipart/alternative message (text and HTML, from templates) sent over
// SMTP, with a Message-ID derived from the notification id so a resend is
// recognisable as the same message.
package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	texttemplate "text/template"
	"time"

	"github.com/prism-es/prism/readmodel-updater/internal/notifications"
	"github.com/prism-es/prism/shared/preferences"
)

//go:embed templates/*.tmpl
var templates embed.FS

var (
	textTmpl = texttemplate.Must(texttemplate.ParseFS(templates, "templates/message.txt.tmpl"))
	htmlTmpl = htmltemplate.Must(htmltemplate.ParseFS(templates, "templates/message.html.tmpl"))
)

// Sender sends e-mail through one SMTP server.
type Sender struct {
	settings notifications.Settings
	from     *mail.Address
	timeout  time.Duration
}

var _ notifications.Channel = (*Sender)(nil)

// New returns the e-mail channel for the settings' SMTP server.
func New(s notifications.Settings) (*Sender, error) {
	from, err := mail.ParseAddress(s.MailFrom)
	if err != nil {
		return nil, fmt.Errorf("mail from: %w", err)
	}
	return &Sender{settings: s, from: from, timeout: 20 * time.Second}, nil
}

// Send implements notifications.Channel.
func (s *Sender) Send(ctx context.Context, d notifications.Delivery, p preferences.Preferences) error {
	to := s.settings.AddressOf(d.UserID, p)
	if to == "" {
		return notifications.Skipped("no e-mail address for %s", d.UserID)
	}
	msg, err := s.Render(d, to)
	if err != nil {
		return err
	}
	return s.deliver(ctx, to, msg)
}

// line is a rendered order line.
type line struct {
	Name     string
	Quantity int
	Amount   string
}

// view is what the templates see.
type view struct {
	Subject, Name, Message, Total, TrackingNumber, Link, LinkText, SettingsLink string
	Lines                                                                       []line
}

var subjects = map[string]string{
	preferences.OrderConfirmed: "Your order is confirmed",
	preferences.OrderShipped:   "Your order has shipped",
	preferences.OrderDelivered: "Your order was delivered",
	preferences.OrderCancelled: "Your order was cancelled",
	preferences.PaymentFailed:  "Your payment failed",
	preferences.StockLow:       "Low stock",
}

// Render builds the whole message (headers and both bodies) for address to.
func (s *Sender) Render(d notifications.Delivery, to string) ([]byte, error) {
	n := d.Notification
	v := view{Subject: subjects[n.Kind], Name: d.UserID, Message: n.Message, TrackingNumber: n.TrackingNumber,
		SettingsLink: s.settings.PublicURL + "/#/notifications"}
	if v.Subject == "" {
		v.Subject = "Prism shop"
	}
	if n.OrderID != "" {
		v.Subject += " (" + short(n.OrderID) + ")"
		v.Link, v.LinkText = s.settings.PublicURL+"/#/orders/"+url.PathEscape(n.OrderID), "See the order"
	}
	if n.SKU != "" {
		v.Subject += ": " + n.SKU
		v.Link, v.LinkText = s.settings.PublicURL+"/#/admin", "Restock it"
	}
	if o := d.Order; o != nil && len(o.Lines) > 0 {
		for _, l := range o.Lines {
			name := l.Name
			if name == "" {
				name = l.SKU
			}
			v.Lines = append(v.Lines, line{Name: name, Quantity: l.Quantity, Amount: s.settings.Money.Cents(l.UnitPriceCents * int64(l.Quantity))})
		}
		v.Total = s.settings.Money.Cents(o.TotalCents)
	}
	var text, html bytes.Buffer
	if err := textTmpl.Execute(&text, v); err != nil {
		return nil, err
	}
	if err := htmlTmpl.Execute(&html, v); err != nil {
		return nil, err
	}

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, part := range []struct {
		typ  string
		data []byte
	}{{"text/plain; charset=utf-8", text.Bytes()}, {"text/html; charset=utf-8", html.Bytes()}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {part.typ}, "Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write(part.data); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	var msg bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&msg, "%s: %s\r\n", k, v) }
	header("From", s.from.String())
	header("To", (&mail.Address{Address: to}).String())
	header("Subject", mime.QEncoding.Encode("utf-8", v.Subject))
	header("Date", time.Now().UTC().Format(time.RFC1123Z))
	header("Message-ID", "<"+n.ID+".email@prism.notifications>")
	header("X-Prism-Notification-Id", n.ID)
	header("X-Prism-Kind", n.Kind)
	header("MIME-Version", "1.0")
	header("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	msg.WriteString("\r\n")
	msg.Write(body.Bytes())
	return msg.Bytes(), nil
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// deliver speaks SMTP to the server, bounded by the context and a timeout;
// STARTTLS when offered, AUTH PLAIN when a user is set.
func (s *Sender) deliver(ctx context.Context, to string, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", s.settings.SMTPAddr)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", s.settings.SMTPAddr, err)
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	host, _, _ := net.SplitHostPort(s.settings.SMTPAddr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", s.settings.SMTPAddr, err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("smtp starttls: %w", err)
		}
	}
	if s.settings.SMTPUser != "" {
		if err := c.Auth(smtp.PlainAuth("", s.settings.SMTPUser, s.settings.SMTPPassword, host)); err != nil {
			return notifications.Refused("smtp login refused: %v", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fmt.Errorf("smtp MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		if permanent(err) {
			return notifications.Refused("the server refuses %s: %v", to, err)
		}
		return fmt.Errorf("smtp RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	return c.Quit()
}

// permanent says an SMTP error is a 5xx (retrying will not help).
func permanent(err error) bool {
	var tp *textproto.Error
	return errors.As(err, &tp) && tp.Code >= 500
}
