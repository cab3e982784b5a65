package testenv

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// PushReceiver is a local stand-in for a browser's push service and the
// browser itself: it has a subscription's keys (a P-256 key pair and an
// auth secret, as PushManager.subscribe makes), accepts pushes on its
// endpoint, and decrypts each one (RFC 8291, aes128gcm) as the browser
// would. Status makes it answer as an expired subscription would (410).
type PushReceiver struct {
	// Endpoint is the subscription's endpoint URL.
	Endpoint string
	// P256DH and Auth are the subscription's keys, base64url.
	P256DH, Auth string

	key    *ecdh.PrivateKey
	secret []byte
	srv    *http.Server
	mu     sync.Mutex
	status int
	got    []Push
}

// Push is one push the receiver accepted.
type Push struct {
	// Plaintext is the decrypted message.
	Plaintext []byte
	// Header holds the request's headers (TTL, Topic, Urgency, Authorization).
	Header http.Header
	// Err says why it could not be decrypted (nil: it was).
	Err error
}

// StartPushReceiver listens on a free loopback port.
func StartPushReceiver() (*PushReceiver, error) {
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &PushReceiver{
		Endpoint: "http://" + l.Addr().String() + "/push/" + base64.RawURLEncoding.EncodeToString(secret[:6]),
		P256DH:   base64.RawURLEncoding.EncodeToString(key.PublicKey().Bytes()),
		Auth:     base64.RawURLEncoding.EncodeToString(secret),
		key:      key, secret: secret, status: http.StatusCreated,
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

// Stop closes the endpoint.
func (p *PushReceiver) Stop() { _ = p.srv.Close() }

// Answer makes the endpoint answer every later push with status (201 by
// default; 410 Gone is an expired subscription).
func (p *PushReceiver) Answer(status int) {
	p.mu.Lock()
	p.status = status
	p.mu.Unlock()
}

// Received returns the pushes so far.
func (p *PushReceiver) Received() []Push {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Push(nil), p.got...)
}

func (p *PushReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8192))
	p.mu.Lock()
	status := p.status
	if status < 300 {
		msg := Push{Header: r.Header.Clone(), Err: err}
		if err == nil {
			msg.Plaintext, msg.Err = p.decrypt(r.Header.Get("Content-Encoding"), body)
		}
		p.got = append(p.got, msg)
	}
	p.mu.Unlock()
	w.WriteHeader(status)
}

// decrypt undoes RFC 8291's aes128gcm content encoding with the
// subscription's private key and auth secret.
func (p *PushReceiver) decrypt(encoding string, body []byte) ([]byte, error) {
	if encoding != "aes128gcm" {
		return nil, fmt.Errorf("Content-Encoding %q, want aes128gcm", encoding)
	}
	// Header: salt (16) | record size (4) | key id length (1) | key id (the
	// sender's ephemeral public key).
	if len(body) < 21 {
		return nil, errors.New("too short for the aes128gcm header")
	}
	salt, idLen := body[:16], int(body[20])
	rs := binary.BigEndian.Uint32(body[16:20])
	if len(body) < 21+idLen || idLen != 65 {
		return nil, fmt.Errorf("key id of %d bytes, want a 65-byte P-256 key", idLen)
	}
	senderKey, err := ecdh.P256().NewPublicKey(body[21 : 21+idLen])
	if err != nil {
		return nil, err
	}
	record := body[21+idLen:]
	if uint32(len(record)) > rs {
		return nil, errors.New("more than one record")
	}
	shared, err := p.key.ECDH(senderKey)
	if err != nil {
		return nil, err
	}
	info := append(append([]byte("WebPush: info\x00"), p.key.PublicKey().Bytes()...), senderKey.Bytes()...)
	ikm, err := hkdf.Key(sha256.New, shared, p.secret, string(info), 32)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, record, nil)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	// The last record ends with the delimiter 0x02, then zero padding.
	plain = bytes.TrimRight(plain, "\x00")
	if len(plain) == 0 || plain[len(plain)-1] != 0x02 {
		return nil, errors.New("no last-record delimiter")
	}
	return plain[:len(plain)-1], nil
}
