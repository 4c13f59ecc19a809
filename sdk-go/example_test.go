package sigil_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/sigilauth/sigil/sdk-go"
)

// The guide's cold-boot example (multi-party-approval-guide.txt, "Creating an MPA Request"):
// 2 of 3 groups must approve before engine ENG-001 is cold-booted. It needs a running Sigil
// service and paired devices, so it is compiled but not run; the fingerprints and keys are
// the guide's placeholders (use the ones from pairing, e.g. client.Devices.List).
func Example_coldBoot() {
	client, err := sigil.New(sigil.Config{
		ServiceURL: "https://sigil.example.com",
		// APIKey defaults to the SIGIL_API_KEY environment variable.
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	mpaRequest, err := client.MPA.Request(ctx, sigil.MPARequest{
		Required: 2, // Need 2 out of 3 groups
		Groups: []sigil.ApprovalGroup{
			{
				Name: "Engineering Leads",
				Approvers: []sigil.Approver{
					{Fingerprint: "abc123...", DevicePublicKey: "Ag8xYz..."}, // Alice
					{Fingerprint: "def456...", DevicePublicKey: "AhMxNj..."}, // Bob
				},
			},
			{
				Name: "Security Team",
				Approvers: []sigil.Approver{
					{Fingerprint: "ghi789...", DevicePublicKey: "AjQyOT..."}, // Carol
				},
			},
			{
				Name: "Operations",
				Approvers: []sigil.Approver{
					{Fingerprint: "jkl012...", DevicePublicKey: "AkU3MT..."}, // Dave
					{Fingerprint: "mno345...", DevicePublicKey: "AlY4Nz..."}, // Eve
				},
			},
		},
		Action: sigil.MPAAction{
			Type:        "cold_boot",
			Description: "Cold boot engine ENG-001",
			Params: map[string]any{
				"engine_id":    "ENG-001",
				"reason":       "Scheduled maintenance",
				"requested_by": "alice@example.com",
				"ticket":       "MAINT-1234",
			},
		},
		ExpiresInSeconds: 600, // 10 minutes
	})
	if err != nil {
		log.Fatal(err)
	}

	fmt.Println("MPA request created:", mpaRequest.RequestID)
	fmt.Println("Waiting for", mpaRequest.GroupsRequired, "of", mpaRequest.GroupsTotal, "groups")

	// Poll for result
	result, err := client.MPA.AwaitResult(ctx, mpaRequest.RequestID, sigil.AwaitOptions{
		PollInterval: 3 * time.Second, // Check every 3 seconds
		Timeout:      10 * time.Minute,
	})
	if err != nil {
		log.Fatal(err) // errors.Is(err, sigil.ErrAwaitTimeout) if still pending after 10 minutes
	}

	switch result.Status {
	case sigil.StatusApproved:
		fmt.Println("MPA approved by:", result.GroupsSatisfied)
		// Proceed with cold boot
		if err := coldBootEngine(ctx, "ENG-001"); err != nil {
			log.Fatal(err)
		}
	case sigil.StatusRejected:
		fmt.Println("MPA denied by at least one group")
		// Log the denial
	case sigil.StatusTimeout:
		fmt.Println("MPA timed out before reaching quorum")
		// Escalate or retry
	}
}

func coldBootEngine(ctx context.Context, engineID string) error { return nil }

// Client-side validation gives the server's messages, before anything is sent.
func ExampleValidateMPARequest() {
	groups := []sigil.ApprovalGroup{{Name: "Engineering Leads"}, {Name: "Security Team"}, {Name: "Operations"}}

	err := sigil.ValidateMPARequest(sigil.MPARequest{Required: 4, Groups: groups})
	fmt.Println(err)
	fmt.Println(errors.Is(err, sigil.ErrInvalidRequest))

	err = sigil.ValidateMPARequest(sigil.MPARequest{Required: 2, Groups: groups, ExpiresInSeconds: 30})
	fmt.Println(err)
	// Output:
	// Invalid MPA request: required cannot exceed number of groups
	// true
	// Invalid expires_in_seconds: must be between 60 and 900
}

// AwaitResult polls until the request is approved, rejected, timed out or cancelled. Here it
// runs against a stand-in for the Sigil service that approves on the third poll.
func ExampleMPAService_AwaitResult() {
	var polls atomic.Int32
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, satisfied := "pending", []string{"Engineering Leads"}
		if polls.Add(1) == 3 {
			status, satisfied = "approved", []string{"Engineering Leads", "Security Team"}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"request_id": "7c3e5f9a-2b4d-4a1e-8f6c-9d2a1b3c4e5f", "status": status, "groups_required": 2, "groups_total": 3,
			"groups_satisfied": satisfied, "expires_at": time.Now().Add(time.Minute).Format(time.RFC3339), "created_at": time.Now().Format(time.RFC3339),
			"action": map[string]any{"type": "cold_boot", "description": "Cold boot engine ENG-001", "params": map[string]any{}},
		})
	}))
	defer fake.Close()

	client, err := sigil.New(sigil.Config{ServiceURL: fake.URL, APIKey: "sgk_test_example"})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	result, err := client.MPA.AwaitResult(ctx, "7c3e5f9a-2b4d-4a1e-8f6c-9d2a1b3c4e5f", sigil.AwaitOptions{PollInterval: 10 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(result.Status, "by", result.GroupsSatisfied, "after", polls.Load(), "polls")
	// Output: approved by [Engineering Leads Security Team] after 3 polls
}

// The server's errors are *sigil.APIError values; the sentinels work with errors.Is.
func ExampleAPIError() {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		_, _ = io.WriteString(w, `{"error":{"code":"request_completed","message":"MPA request is already approved","details":{"status":"approved"}}}`)
	}))
	defer fake.Close()
	client, _ := sigil.New(sigil.Config{ServiceURL: fake.URL, APIKey: "sgk_test_example"})

	_, err := client.MPA.Cancel(context.Background(), "7c3e5f9a-2b4d-4a1e-8f6c-9d2a1b3c4e5f")
	var apiErr *sigil.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Status, apiErr.Code, apiErr.Details["status"])
		fmt.Println(apiErr.Message)
	}
	fmt.Println(errors.Is(err, sigil.ErrNotFound))
	// Output:
	// 409 request_completed approved
	// MPA request is already approved
	// false
}

// A webhook handler: verify the delivery first, then act on the event. Answer 2xx quickly;
// Sigil retries other answers, with the same webhook-id (event.ID), so handle repeats.
func ExampleVerifyWebhook() {
	secret := "whsec_..." // shown once when the endpoint is registered (POST /v1/webhooks)

	http.HandleFunc("/sigil/webhook", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		event, err := sigil.VerifyWebhook(body, r.Header, secret)
		if err != nil {
			// errors.Is(err, sigil.ErrWebhookSignature), sigil.ErrWebhookTimestamp, ...
			http.Error(w, "invalid webhook", http.StatusBadRequest)
			return
		}
		switch event.Type {
		case sigil.EventMPAApproved:
			log.Printf("MPA %s approved by %v: performing %s", event.RequestID, event.GroupsSatisfied, event.Action.Type)
		case sigil.EventMPARejected, sigil.EventMPATimeout:
			log.Printf("MPA %s ended: %s", event.RequestID, event.Status)
		case sigil.EventDeviceRevoked:
			log.Printf("device %s (%s) revoked", event.Name, event.Fingerprint)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// SignWebhook computes a Standard Webhooks signature, for testing your handler. This is the
// example of the Standard Webhooks specification.
func ExampleSignWebhook() {
	signature, err := sigil.SignWebhook(
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"msg_p5jXN8AQM9LWM0D4loKWxJek",
		time.Unix(1614265330, 0),
		[]byte(`{"test": 2432232314}`),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(signature)
	// Output: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
}

// Pairing an approver device: show the code (and the pictogram) to its owner, then read the
// device's fingerprint and public key once it has paired.
func ExamplePairingsService_Create() {
	client, err := sigil.New(sigil.Config{ServiceURL: "https://sigil.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	pairing, err := client.Pairings.Create(ctx, sigil.PairingOptions{Name: "Alice's phone"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Enter code %s on the device; it should show %s\n", pairing.Code, pairing.Pictogram.Text)

	for {
		p, err := client.Pairings.Get(ctx, pairing.PairingID)
		if err != nil {
			log.Fatal(err)
		}
		if p.Status == sigil.PairingCompleted {
			approver := p.Approver() // use in an ApprovalGroup
			fmt.Println("paired:", approver.Fingerprint)
			return
		}
		if p.Status == sigil.PairingExpired {
			log.Fatal("the code expired")
		}
		time.Sleep(2 * time.Second)
	}
}
