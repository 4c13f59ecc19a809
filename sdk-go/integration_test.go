package sigil

// Integration test against the real Sigil server of this repository:
//
//	node ../packages/server/dist/sigil/cli.js serve --host 127.0.0.1 --port 0 --data-dir <temp>
//
// Approver devices are the real device CLI (node ../packages/device/dist/cli.js) and, for
// some approvers, the Go test device of testdevice_test.go. Outside CI the test is skipped when
// node or the built server is missing, and the Go test device stands in for an unbuilt CLI; under
// CI (integrationRequired) either fails it instead. Everything listens on 127.0.0.1; every
// process is stopped in t.Cleanup; every wait is bounded.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// sigilServer is a running `sigil serve`.
type sigilServer struct {
	URL      string
	APIKey   string
	ServerID string
	node     string
}

// lockedBuffer collects a process's output for failure messages.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var (
	runningAt   = regexp.MustCompile(`is running at (http://\S+)`)
	apiKeyLine  = regexp.MustCompile(`^\s+(sgk_live_\S+)\s*$`)
	startupWait = 3 * time.Minute // the embedded PostgreSQL takes a while on a busy machine
)

// startSigil starts the real server on a free loopback port with a fresh data directory.
func startSigil(t *testing.T) *sigilServer {
	t.Helper()
	node := nodeBinary(t)
	cli := repoFile(t, "packages/server/dist/sigil/cli.js")
	dataDir := t.TempDir()

	cmd := exec.Command(node, cli, "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DATABASE_URL=") && !strings.HasPrefix(kv, "SIGIL_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "SIGIL_WEBHOOK_ALLOW_PRIVATE=true", "SIGIL_LOG_LEVEL=warn", "SIGIL_ORG_NAME=Acme Corp")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	output := &lockedBuffer{}
	cmd.Stderr = output
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting sigil serve: %v", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			t.Logf("sigil serve ignored SIGTERM for 20 s; killing it")
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	type started struct{ url, key string }
	ready := make(chan started, 1)
	go func() {
		var url, key string
		scanner := bufio.NewScanner(stdout)
		scanner.Buffer(make([]byte, 64*1024), 1024*1024)
		for scanner.Scan() {
			line := scanner.Text()
			fmt.Fprintln(output, line)
			if m := runningAt.FindStringSubmatch(line); m != nil && url == "" {
				url = m[1]
			}
			if m := apiKeyLine.FindStringSubmatch(line); m != nil && key == "" {
				key = m[1]
			}
			if url != "" && key != "" {
				ready <- started{url, key}
				url = "-" // report once; keep draining stdout
			}
		}
	}()

	var s started
	select {
	case s = <-ready:
	case <-exited:
		t.Fatalf("sigil serve exited (%v) before it was ready:\n%s", waitErr, output.String())
	case <-time.After(startupWait):
		t.Fatalf("sigil serve was not ready within %v:\n%s", startupWait, output.String())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sigil serve output:\n%s", output.String())
		}
	})

	server := &sigilServer{URL: s.url, APIKey: s.key, node: node}
	var info struct {
		ServerID string `json:"server_id"`
		OrgName  string `json:"org_name"`
	}
	if err := server.call(context.Background(), "GET", "/v1/info", nil, &info); err != nil || len(info.ServerID) != 64 {
		t.Fatalf("GET /v1/info: %+v %v", info, err)
	}
	server.ServerID = info.ServerID
	return server
}

// call makes a raw API call with the API key (for routes the SDK does not cover, and to
// bypass its validation). A non-2xx answer is returned as an *APIError.
func (s *sigilServer) call(ctx context.Context, method, path string, body, out any) error {
	var reader io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		reader = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, reader)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.APIKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return newAPIError(call{method: method, path: path}, resp, data, 1)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// testApprover is an approver device: the device CLI or the Go test device.
type testApprover interface {
	name() string
	approver() Approver
	pair(ctx context.Context, s *sigilServer, code string) error
	decide(ctx context.Context, s *sigilServer, view *MPARequestView, decision string) error
}

type goApprover struct{ *goDevice }

func (g goApprover) name() string       { return g.goDevice.Name() }
func (g goApprover) approver() Approver { return g.key.approver() }
func (g goApprover) pair(ctx context.Context, s *sigilServer, code string) error {
	return g.Pair(ctx, s.URL, s.ServerID, code)
}
func (g goApprover) decide(ctx context.Context, s *sigilServer, view *MPARequestView, decision string) error {
	return g.Decide(ctx, s.URL, s.ServerID, view, decision)
}

// cliApprover drives `sigil-device` (packages/device) with its own home directory.
type cliApprover struct {
	label, home, cli, node string
	fingerprint, publicKey string
}

func (c *cliApprover) name() string { return c.label }
func (c *cliApprover) approver() Approver {
	return Approver{Fingerprint: c.fingerprint, DevicePublicKey: c.publicKey}
}

func (c *cliApprover) run(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.node, append([]string{c.cli}, args...)...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SIGIL_DEVICE_HOME=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("sigil-device %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

var (
	cliFingerprint = regexp.MustCompile(`(?m)^fingerprint: ([0-9a-f]{64})$`)
	cliPublicKey   = regexp.MustCompile(`(?m)^public_key: (\S+)$`)
)

func (c *cliApprover) pair(ctx context.Context, s *sigilServer, code string) error {
	out, err := c.run(ctx, "pair", "--server", s.URL, "--code", code, "--name", c.label, "--home", c.home, "--yes")
	if err != nil {
		return err
	}
	fp, pk := cliFingerprint.FindStringSubmatch(out), cliPublicKey.FindStringSubmatch(out)
	if fp == nil || pk == nil {
		return fmt.Errorf("sigil-device pair printed no fingerprint/public_key:\n%s", out)
	}
	c.fingerprint, c.publicKey = fp[1], pk[1]
	return nil
}

func (c *cliApprover) decide(ctx context.Context, s *sigilServer, view *MPARequestView, decision string) error {
	out, err := c.run(ctx, "respond", view.RequestID, "--"+decision, "--server", s.URL, "--home", c.home)
	if err != nil {
		return err
	}
	// The approval screen shows what is being approved.
	if !strings.Contains(out, view.Action.Description) {
		return fmt.Errorf("sigil-device respond did not show the action:\n%s", out)
	}
	return nil
}

// webhookReceiver is an httptest endpoint on 127.0.0.1 that keeps every delivery.
type webhookReceiver struct {
	*httptest.Server
	mu         sync.Mutex
	deliveries []delivery
}

type delivery struct {
	body   []byte
	header http.Header
}

func newWebhookReceiver(t *testing.T) *webhookReceiver {
	r := &webhookReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		if err != nil {
			w.WriteHeader(400)
			return
		}
		r.mu.Lock()
		r.deliveries = append(r.deliveries, delivery{body: body, header: req.Header.Clone()})
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *webhookReceiver) all() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.deliveries...)
}

// waitFor returns the first delivery whose event (verified with any of the secrets) matches.
// Every delivery must verify with one of the secrets.
func (r *webhookReceiver) waitFor(t *testing.T, what string, secrets []string, match func(*WebhookEvent) bool) (*WebhookEvent, delivery) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		for _, d := range r.all() {
			var event *WebhookEvent
			var err error
			for _, secret := range secrets {
				if event, err = VerifyWebhook(d.body, d.header, secret); err == nil {
					break
				}
			}
			if err != nil {
				t.Fatalf("a delivery did not verify: %v\n%s", err, d.body)
			}
			if match(event) {
				return event, d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s webhook within 45 s; got %d deliveries", what, len(r.all()))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestIntegrationWithTheRealServer(t *testing.T) {
	s := startSigil(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	client, err := New(Config{ServiceURL: s.URL, APIKey: s.APIKey})
	if err != nil {
		t.Fatal(err)
	}

	// A webhook endpoint first, so that it sees every event.
	receiver := newWebhookReceiver(t)
	var endpoint struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	if err := s.call(ctx, "POST", "/v1/webhooks", map[string]any{"url": receiver.URL + "/sigil-events"}, &endpoint); err != nil {
		t.Fatalf("registering the webhook endpoint: %v", err)
	}
	if !strings.HasPrefix(endpoint.Secret, "whsec_") {
		t.Fatalf("webhook endpoint %+v has no whsec_ secret", endpoint)
	}
	// The secrets deliveries are signed with; the rotation below adds one.
	webhookSecrets := []string{endpoint.Secret}

	// Five approvers, as in the guide. The device CLI plays Alice, Carol and Dave when it is
	// built; the Go test device plays the others.
	deviceCLI := filepath.Join("..", "packages", "device", "dist", "cli.js")
	useCLI := true
	if _, err := os.Stat(deviceCLI); err != nil {
		if integrationRequired() {
			t.Fatalf("the device CLI is not built (%v): under CI the real CLI must play its approvers", err)
		}
		useCLI = false
		t.Logf("the device CLI is not built (%v): every approver is a Go test device", err)
	}
	deviceCLI, _ = filepath.Abs(deviceCLI)
	makeApprover := func(name string, cli bool) testApprover {
		if cli && useCLI {
			return &cliApprover{label: name, home: t.TempDir(), cli: deviceCLI, node: s.node}
		}
		return goApprover{newGoDevice(t, name)}
	}
	alice, bob, carol := makeApprover("Alice", true), makeApprover("Bob", false), makeApprover("Carol", true)
	dave, eve := makeApprover("Dave", true), makeApprover("Eve", false)
	everyone := []testApprover{alice, bob, carol, dave, eve}

	for _, a := range everyone {
		created, err := client.Pairings.Create(ctx, PairingOptions{Name: a.name()})
		if err != nil {
			t.Fatalf("opening a pairing for %s: %v", a.name(), err)
		}
		if created.Status != PairingPending || len(created.Code) != 8 || created.ServerID != s.ServerID || len(created.Pictogram.Emoji) != 5 {
			t.Fatalf("pairing %+v", created)
		}
		if err := a.pair(ctx, s, created.Code); err != nil {
			t.Fatalf("pairing %s: %v", a.name(), err)
		}
		pairing, err := client.Pairings.Get(ctx, created.PairingID)
		if err != nil {
			t.Fatal(err)
		}
		if pairing.Status != PairingCompleted || pairing.Approver() != a.approver() || pairing.Name != a.name() || pairing.CompletedAt == nil {
			t.Fatalf("pairing of %s: %+v, device %+v", a.name(), pairing, a.approver())
		}
	}
	devices, err := client.Devices.List(ctx)
	if err != nil || len(devices) != 5 {
		t.Fatalf("devices: %+v %v", devices, err)
	}
	for i, d := range devices {
		if d.Status != DeviceActive || d.Approver() != everyone[i].approver() || d.Name != everyone[i].name() {
			t.Fatalf("device %d: %+v", i, d)
		}
		if d.Attestation.Format != "software" || d.Attestation.Verified {
			t.Fatalf("device %d attestation: %+v", i, d.Attestation)
		}
	}

	coldBoot := MPARequest{
		Required: 2,
		Groups: []ApprovalGroup{
			{Name: "Engineering Leads", Approvers: []Approver{alice.approver(), bob.approver()}},
			{Name: "Security Team", Approvers: []Approver{carol.approver()}},
			{Name: "Operations", Approvers: []Approver{dave.approver(), eve.approver()}},
		},
		Action: MPAAction{
			Type:        "cold_boot",
			Description: "Cold boot engine ENG-001",
			Params:      map[string]any{"engine_id": "ENG-001", "reason": "Scheduled maintenance", "requested_by": "alice@example.com", "ticket": "MAINT-1234"},
		},
		ExpiresInSeconds: 600,
	}
	decide := func(t *testing.T, a testApprover, view *MPARequestView, decision string) {
		t.Helper()
		if err := a.decide(ctx, s, view, decision); err != nil {
			t.Fatalf("%s %s: %v", a.name(), decision, err)
		}
	}
	var coldBootID, deniedID string

	t.Run("cold boot: 2 of 3 groups approve", func(t *testing.T) {
		created, err := client.MPA.Request(ctx, coldBoot)
		if err != nil {
			t.Fatal(err)
		}
		coldBootID = created.RequestID
		if created.Status != StatusPending || created.GroupsRequired != 2 || created.GroupsTotal != 3 || len(created.GroupsSatisfied) != 0 ||
			created.ExpiresAt.Sub(created.CreatedAt) != 600*time.Second || created.Action.Params["ticket"] != "MAINT-1234" {
			t.Fatalf("created %+v", created)
		}

		// Wait for the result while the approvers decide, as the guide does.
		type outcome struct {
			view *MPARequestView
			err  error
		}
		awaited := make(chan outcome, 1)
		go func() {
			view, err := client.MPA.AwaitResult(ctx, created.RequestID, AwaitOptions{PollInterval: 200 * time.Millisecond, Timeout: 2 * time.Minute})
			awaited <- outcome{view, err}
		}()

		decide(t, alice, created, "approve")
		view, err := client.MPA.Get(ctx, created.RequestID)
		if err != nil || view.Status != StatusPending || strings.Join(view.GroupsSatisfied, ",") != "Engineering Leads" {
			t.Fatalf("after Alice: %+v %v", view, err)
		}
		// Bob is in Alice's group: a second approval there satisfies nothing new.
		decide(t, bob, created, "approve")
		view, err = client.MPA.Get(ctx, created.RequestID)
		if err != nil || view.Status != StatusPending || strings.Join(view.GroupsSatisfied, ",") != "Engineering Leads" {
			t.Fatalf("after Bob: %+v %v", view, err)
		}
		decide(t, carol, created, "approve")

		var result outcome
		select {
		case result = <-awaited:
		case <-time.After(2 * time.Minute):
			t.Fatal("AwaitResult did not return")
		}
		if result.err != nil {
			t.Fatal(result.err)
		}
		if result.view.Status != StatusApproved || strings.Join(result.view.GroupsSatisfied, "|") != "Engineering Leads|Security Team" || result.view.CompletedAt == nil {
			t.Fatalf("result %+v", result.view)
		}

		// Too late: the request is final.
		if err := eve.decide(ctx, s, created, "deny"); err == nil {
			t.Fatal("a decision after approval was accepted")
		}
		_, err = client.MPA.Cancel(ctx, created.RequestID)
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Status != 409 || apiErr.Code != "request_completed" || apiErr.Details["status"] != "approved" {
			t.Fatalf("cancelling an approved request: %v", err)
		}
		list, err := client.MPA.List(ctx, ListOptions{Status: StatusApproved, Limit: 10})
		if err != nil || len(list.Data) != 1 || list.Data[0].RequestID != created.RequestID || list.NextCursor != "" {
			t.Fatalf("list: %+v %v", list, err)
		}
	})

	t.Run("a denial rejects the request", func(t *testing.T) {
		created, err := client.MPA.Request(ctx, coldBoot)
		if err != nil {
			t.Fatal(err)
		}
		deniedID = created.RequestID
		decide(t, alice, created, "approve")
		decide(t, dave, created, "deny")
		result, err := client.MPA.AwaitResult(ctx, created.RequestID, AwaitOptions{PollInterval: 100 * time.Millisecond, Timeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if result.Status != StatusRejected || strings.Join(result.GroupsSatisfied, ",") != "Engineering Leads" || result.CompletedAt == nil {
			t.Fatalf("result %+v", result)
		}
	})

	t.Run("AwaitResult deadline, then cancel", func(t *testing.T) {
		created, err := client.MPA.Request(ctx, coldBoot)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = client.MPA.AwaitResult(ctx, created.RequestID, AwaitOptions{PollInterval: 100 * time.Millisecond, Timeout: 700 * time.Millisecond})
		var timeoutErr *AwaitTimeoutError
		if !errors.As(err, &timeoutErr) || !errors.Is(err, ErrAwaitTimeout) || timeoutErr.LastSeen == nil || timeoutErr.LastSeen.Status != StatusPending {
			t.Fatalf("got %v", err)
		}
		if elapsed := time.Since(start); elapsed > 10*time.Second {
			t.Fatalf("the 700 ms deadline took %v", elapsed)
		}
		cancelled, err := client.MPA.Cancel(ctx, created.RequestID)
		if err != nil || cancelled.Status != StatusCancelled {
			t.Fatalf("cancel: %+v %v", cancelled, err)
		}
		result, err := client.MPA.AwaitResult(ctx, created.RequestID, AwaitOptions{})
		if err != nil || result.Status != StatusCancelled {
			t.Fatalf("await after cancel: %+v %v", result, err)
		}
	})

	t.Run("idempotency keys against the server", func(t *testing.T) {
		req := coldBoot
		key, _ := newUUID()
		req.IdempotencyKey = "integration-" + key
		first, err := client.MPA.Request(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := client.MPA.Request(ctx, req)
		if err != nil || again.RequestID != first.RequestID {
			t.Fatalf("the same key created another request: %+v %v", again, err)
		}
		req.Action.Description = "Something else"
		_, err = client.MPA.Request(ctx, req)
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Status != 409 || apiErr.Code != "idempotency_conflict" {
			t.Fatalf("reusing the key for another body: %v", err)
		}
		if _, err := client.MPA.Cancel(ctx, first.RequestID); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("the server's validation messages are the SDK's", func(t *testing.T) {
		// What only the server can know: the device is not paired.
		stranger := newTestKey(t)
		req := coldBoot
		req.Groups = append([]ApprovalGroup(nil), coldBoot.Groups...)
		req.Groups[1] = ApprovalGroup{Name: "Security Team", Approvers: []Approver{stranger.approver()}}
		_, err := client.MPA.Request(ctx, req)
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Status != 400 || !errors.Is(err, ErrInvalidRequest) ||
			apiErr.Message != "Invalid MPA request: device "+stranger.fingerprint+" is not paired with this organisation" {
			t.Fatalf("got %v", err)
		}
		// What the SDK checks first: sent anyway, the server says the same.
		for _, tc := range validationCases(t) {
			bad := cloneRequest(coldBoot)
			tc.mutate(&bad)
			body, ok := marshalable(bad)
			if !ok {
				continue
			}
			local := ValidateMPARequest(bad)
			err := s.call(ctx, "POST", "/v1/mpa/requests", json.RawMessage(body), nil)
			if !errors.As(err, &apiErr) || apiErr.Status != 400 || apiErr.Code != "invalid_request" || local == nil || apiErr.Message != local.Error() {
				t.Errorf("%s:\n  server: %v\n  SDK:    %v", tc.name, err, local)
			}
		}
	})

	t.Run("webhooks end to end", func(t *testing.T) {
		if coldBootID == "" || deniedID == "" {
			t.Fatal("the MPA scenarios before this one failed: no requests to check the webhooks of")
		}
		secrets := webhookSecrets
		for _, a := range everyone {
			event, _ := receiver.waitFor(t, "device.paired for "+a.name(), secrets, func(e *WebhookEvent) bool {
				return e.Type == EventDevicePaired && e.Fingerprint == a.approver().Fingerprint
			})
			if event.Name != a.name() || event.DevicePublicKey != a.approver().DevicePublicKey || event.PairingID == "" || event.Timestamp.IsZero() {
				t.Fatalf("device.paired %+v", event)
			}
		}
		created, _ := receiver.waitFor(t, "mpa.created", secrets, func(e *WebhookEvent) bool {
			return e.Type == EventMPACreated && e.RequestID == coldBootID
		})
		if created.Status != StatusPending || created.ExpiresAt == nil || created.Action.Type != "cold_boot" {
			t.Fatalf("mpa.created %+v", created)
		}
		approved, d := receiver.waitFor(t, "mpa.approved", secrets, func(e *WebhookEvent) bool {
			return e.Type == EventMPAApproved && e.RequestID == coldBootID
		})
		if approved.Status != StatusApproved || strings.Join(approved.GroupsSatisfied, "|") != "Engineering Leads|Security Team" ||
			approved.GroupsRequired != 2 || approved.GroupsTotal != 3 || approved.Action.Description != "Cold boot engine ENG-001" ||
			approved.Action.Params["requested_by"] != "alice@example.com" || !strings.HasPrefix(approved.ID, "evt_") {
			t.Fatalf("mpa.approved %+v", approved)
		}
		// The same delivery, tampered with, or with another secret, is refused.
		tampered := bytes.Replace(d.body, []byte(`"approved"`), []byte(`"rejected"`), 1)
		if _, err := VerifyWebhook(tampered, d.header, endpoint.Secret); !errors.Is(err, ErrWebhookSignature) {
			t.Fatalf("tampered delivery: %v", err)
		}
		if _, err := VerifyWebhook(d.body, d.header, testSecret); !errors.Is(err, ErrWebhookSignature) {
			t.Fatalf("wrong secret: %v", err)
		}
		rejected, _ := receiver.waitFor(t, "mpa.rejected", secrets, func(e *WebhookEvent) bool {
			return e.Type == EventMPARejected && e.RequestID == deniedID
		})
		if rejected.Status != StatusRejected || strings.Join(rejected.GroupsSatisfied, ",") != "Engineering Leads" {
			t.Fatalf("mpa.rejected %+v", rejected)
		}

		// Rotate the secret: for 24 hours deliveries carry a signature under each secret.
		var rotated struct {
			Secret string `json:"secret"`
		}
		if err := s.call(ctx, "POST", "/v1/webhooks/"+endpoint.ID+"/rotate-secret", nil, &rotated); err != nil || !strings.HasPrefix(rotated.Secret, "whsec_") {
			t.Fatalf("rotate: %+v %v", rotated, err)
		}
		secrets = []string{rotated.Secret, endpoint.Secret}
		view, err := client.MPA.Request(ctx, coldBoot)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.MPA.Cancel(ctx, view.RequestID); err != nil {
			t.Fatal(err)
		}
		cancelled, d := receiver.waitFor(t, "mpa.cancelled", secrets, func(e *WebhookEvent) bool {
			return e.Type == EventMPACancelled && e.RequestID == view.RequestID
		})
		if cancelled.Status != StatusCancelled {
			t.Fatalf("mpa.cancelled %+v", cancelled)
		}
		if n := len(strings.Fields(d.header.Get("webhook-signature"))); n != 2 {
			t.Fatalf("during the rotation a delivery should carry 2 signatures, not %d", n)
		}
		for _, secret := range []string{rotated.Secret, endpoint.Secret} {
			if _, err := VerifyWebhook(d.body, d.header, secret); err != nil {
				t.Fatalf("verifying with one of the rotation's secrets: %v", err)
			}
		}
		webhookSecrets = secrets
	})

	t.Run("revoking a device", func(t *testing.T) {
		revoked, err := client.Devices.Revoke(ctx, eve.approver().Fingerprint)
		if err != nil || revoked.Status != DeviceRevoked || revoked.RevokedAt == nil {
			t.Fatalf("revoke: %+v %v", revoked, err)
		}
		again, err := client.Devices.Revoke(ctx, eve.approver().Fingerprint)
		if err != nil || again.Status != DeviceRevoked {
			t.Fatalf("revoking twice: %+v %v", again, err)
		}
		_, err = client.MPA.Request(ctx, coldBoot)
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Message != "Invalid MPA request: device "+eve.approver().Fingerprint+" has been revoked" {
			t.Fatalf("a request naming a revoked device: %v", err)
		}
		if _, err := client.Devices.Revoke(ctx, strings.Repeat("0", 64)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("revoking an unknown device: %v", err)
		}
		event, _ := receiver.waitFor(t, "device.revoked", webhookSecrets, func(e *WebhookEvent) bool {
			return e.Type == EventDeviceRevoked && e.Fingerprint == eve.approver().Fingerprint
		})
		if event.Name != "Eve" || event.Timestamp.IsZero() || !event.Timestamp.Equal(*revoked.RevokedAt) {
			t.Fatalf("device.revoked %+v, revoked at %v", event, revoked.RevokedAt)
		}
	})

	t.Run("a wrong API key", func(t *testing.T) {
		bad, err := New(Config{ServiceURL: s.URL, APIKey: "sgk_live_" + strings.Repeat("0", 64)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = bad.Devices.List(ctx)
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Status != 401 || !errors.Is(err, ErrUnauthorized) || apiErr.Attempts != 1 {
			t.Fatalf("got %v", err)
		}
	})
}
