// Package sigil is the Go SDK for Sigil, a self-hosted multi-party approval (MPA) service.
//
// An MPA request asks for M of N approval groups to approve a sensitive action. Each group
// holds one or more approver devices; a group is satisfied when any one of its approvers
// approves, any denial rejects the request, and a request that reaches its expiry first ends
// as a timeout.
//
//	client, err := sigil.New(sigil.Config{ServiceURL: "https://sigil.example.com"})
//	// The API key comes from Config.APIKey or the SIGIL_API_KEY environment variable.
//	req, err := client.MPA.Request(ctx, sigil.MPARequest{Required: 2, Groups: groups, Action: action})
//	result, err := client.MPA.AwaitResult(ctx, req.RequestID, sigil.AwaitOptions{})
//	if result.Status == sigil.StatusApproved { /* perform the action */ }
//
// # Validation
//
// [MPAService.Request] checks the request with the same rules, in the same order and with the
// same messages as the server (see [ValidateMPARequest]), so a malformed request fails with a
// [*ValidationError] before anything is sent. Every validation error matches
// [ErrInvalidRequest] with errors.Is, and so does an [*APIError] whose code is invalid_request.
//
// # Errors
//
// The server's errors are returned as [*APIError] (status, code, message, details). Failures
// without a usable response are [*NetworkError]. Cancellation and deadlines come from the
// context.Context of each call; when the context ends, the context's error is returned
// (wrapped), except that [MPAService.AwaitResult] returns an [*AwaitTimeoutError] when its
// deadline passes while the request is still pending.
//
// # Retries
//
// Network errors, 429 and 5xx responses are retried (3 times by default) with exponential
// backoff and full jitter, honouring Retry-After. The body is re-sent on every attempt. Creating
// an MPA request is made safe to retry by an Idempotency-Key that the SDK generates once per
// call and reuses on every attempt. Opening a pairing has no idempotency key on the server, so
// it is retried only when the server certainly did not act on it (429, refused connections).
//
// # Webhooks
//
// [VerifyWebhook] checks a Standard Webhooks delivery (webhook-id, webhook-timestamp and
// webhook-signature headers) against your endpoint's whsec_ secret in constant time, with a
// five-minute tolerance for the timestamp, and returns the typed [WebhookEvent].
package sigil
