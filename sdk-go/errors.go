package sigil

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors, for use with errors.Is. The concrete error types below carry the details.
var (
	// ErrInvalidRequest matches every [*ValidationError] (a request the SDK refused to send)
	// and every [*APIError] whose code is "invalid_request" (a request the server refused).
	ErrInvalidRequest = errors.New("sigil: invalid request")

	// ErrInvalidConfig matches every [*ConfigError]: New or an option was given something unusable.
	ErrInvalidConfig = errors.New("sigil: invalid configuration")

	// ErrUnauthorized matches an [*APIError] with HTTP status 401 (a missing, wrong or revoked API key).
	ErrUnauthorized = errors.New("sigil: unauthorized")

	// ErrNotFound matches an [*APIError] with HTTP status 404.
	ErrNotFound = errors.New("sigil: not found")

	// ErrRateLimited matches an [*APIError] with HTTP status 429 (returned once retries are used up).
	ErrRateLimited = errors.New("sigil: rate limited")

	// ErrNetwork matches every [*NetworkError]: no usable response was received.
	ErrNetwork = errors.New("sigil: network error")

	// ErrAwaitTimeout matches the [*AwaitTimeoutError] that [MPAService.AwaitResult] returns when
	// its context's deadline (or AwaitOptions.Timeout) passes while the request is still pending.
	ErrAwaitTimeout = errors.New("sigil: MPA request still pending at the deadline")

	// ErrWebhookVerification matches every [*WebhookError]: a webhook delivery was not accepted.
	ErrWebhookVerification = errors.New("sigil: webhook verification failed")

	// ErrWebhookHeaders matches a [*WebhookError] with code "missing_headers".
	ErrWebhookHeaders = errors.New("sigil: webhook headers missing")

	// ErrWebhookTimestamp matches a [*WebhookError] with code "invalid_timestamp" or
	// "timestamp_out_of_tolerance" (a replayed, delayed or future-dated delivery).
	ErrWebhookTimestamp = errors.New("sigil: webhook timestamp rejected")

	// ErrWebhookSignature matches a [*WebhookError] with code "invalid_signature": no v1
	// signature matched (tampered body or headers, or the wrong secret).
	ErrWebhookSignature = errors.New("sigil: webhook signature mismatch")

	// ErrWebhookSecret matches a [*WebhookError] with code "invalid_secret": the secret given to
	// VerifyWebhook is not "whsec_" followed by standard base64.
	ErrWebhookSecret = errors.New("sigil: malformed webhook secret")

	// ErrWebhookBody matches a [*WebhookError] with code "invalid_body": the signed body is not
	// a JSON event object.
	ErrWebhookBody = errors.New("sigil: malformed webhook body")
)

// Error codes the server answers with, as in [APIError.Code]: the catalogue of docs/protocol.md
// ("Error codes"), with the HTTP status each is answered with.
const (
	// CodeInvalidRequest (HTTP 400): the request breaks a rule: a field, parameter, header or cursor is missing or invalid.
	CodeInvalidRequest = "invalid_request"
	// CodeInvalidJSON (HTTP 400): the body is not JSON, or is empty where JSON is required.
	CodeInvalidJSON = "invalid_json"
	// CodeUnauthorized (HTTP 401): no credentials, or a wrong or revoked API key, session or token.
	CodeUnauthorized = "unauthorized"
	// CodeNotFound (HTTP 404): no such resource, or no such route.
	CodeNotFound = "not_found"
	// CodeRequestTimeout (HTTP 408): the request did not arrive in time.
	CodeRequestTimeout = "request_timeout"
	// CodePayloadTooLarge (HTTP 413): the body is larger than the server accepts.
	CodePayloadTooLarge = "payload_too_large"
	// CodeUnsupportedMediaType (HTTP 415): the body is not application/json.
	CodeUnsupportedMediaType = "unsupported_media_type"
	// CodeRateLimited (HTTP 429): too many requests from this client; wait for Retry-After.
	CodeRateLimited = "rate_limited"
	// CodeHeadersTooLarge (HTTP 431): the request headers are too large.
	CodeHeadersTooLarge = "headers_too_large"
	// CodeInternalError (HTTP 500): the server failed; nothing was written.
	CodeInternalError = "internal_error"
	// CodeUnavailable (HTTP 503): storage is unreachable or the server is stopping; retry after Retry-After.
	CodeUnavailable = "unavailable"
	// CodeNotInitialised (HTTP 503): the server has no organisation yet.
	CodeNotInitialised = "not_initialised"
	// CodeWrongServer (HTTP 400): the payload was signed for another server.
	CodeWrongServer = "wrong_server"
	// CodeStaleSignature (HTTP 400): the payload's issued_at is too far from the server clock.
	CodeStaleSignature = "stale_signature"
	// CodeFingerprintMismatch (HTTP 400): the fingerprint is not the SHA-256 of the public key.
	CodeFingerprintMismatch = "fingerprint_mismatch"
	// CodeInvalidSignature (HTTP 401): a signature or passkey assertion does not verify.
	CodeInvalidSignature = "invalid_signature"
	// CodeInvalidCode (HTTP 400): the pairing code is wrong, expired, burned or already used.
	CodeInvalidCode = "invalid_code"
	// CodeAttestationRequired (HTTP 403): the server accepts only devices with verified hardware attestation.
	CodeAttestationRequired = "attestation_required"
	// CodeDeviceAlreadyPaired (HTTP 409): this device key or passkey is already paired on this server.
	CodeDeviceAlreadyPaired = "device_already_paired"
	// CodeTooManyPairings (HTTP 429): the organisation has as many open pairing codes as it may.
	CodeTooManyPairings = "too_many_pairings"
	// CodePairingCapacity (HTTP 503): the server holds as many open pairings as it may; retry shortly.
	CodePairingCapacity = "pairing_capacity"
	// CodeChallengeExpired (HTTP 400): the passkey challenge was used or has expired.
	CodeChallengeExpired = "challenge_expired"
	// CodeInvalidRegistration (HTTP 400): the passkey registration or its key is not acceptable.
	CodeInvalidRegistration = "invalid_registration"
	// CodeUnknownPasskey (HTTP 401): the passkey is not paired with this server.
	CodeUnknownPasskey = "unknown_passkey"
	// CodeWebauthnUnavailable (HTTP 503): passkeys are not configured on this server.
	CodeWebauthnUnavailable = "webauthn_unavailable"
	// CodeDeviceRevoked (HTTP 403): the device has been revoked.
	CodeDeviceRevoked = "device_revoked"
	// CodeNotAnApprover (HTTP 403): the device is not an approver of this request.
	CodeNotAnApprover = "not_an_approver"
	// CodeActionMismatch (HTTP 400): the decision was signed for a different action.
	CodeActionMismatch = "action_mismatch"
	// CodeAlreadyDecided (HTTP 409): this device has already decided on this request.
	CodeAlreadyDecided = "already_decided"
	// CodeRequestCompleted (HTTP 409): the request is no longer pending; details.status is its outcome.
	CodeRequestCompleted = "request_completed"
	// CodeIdempotencyConflict (HTTP 409): the Idempotency-Key was used with a different body.
	CodeIdempotencyConflict = "idempotency_conflict"
	// CodeTooManyPendingRequests (HTTP 429): a device has as many pending requests from this organisation as it may.
	CodeTooManyPendingRequests = "too_many_pending_requests"
	// CodeUnknownTeam (HTTP 400): a request group or the override settings name a team the organisation does not have.
	CodeUnknownTeam = "unknown_team"
	// CodeTeamBelowMinimum (HTTP 400): a team group has fewer active members who can approve than the team's min_members.
	CodeTeamBelowMinimum = "team_below_minimum"
	// CodeUnsatisfiableRequest (HTTP 400): fewer groups than required still have someone who can approve.
	CodeUnsatisfiableRequest = "unsatisfiable_request"
	// CodeTeamExists (HTTP 409): a team with this slug already exists.
	CodeTeamExists = "team_exists"
	// CodeTeamInUse (HTTP 409): the emergency-override settings name this team as a reviewer; remove it there first.
	CodeTeamInUse = "team_in_use"
	// CodeOverridesDisabled (HTTP 403): the organisation has emergency overrides turned off.
	CodeOverridesDisabled = "overrides_disabled"
	// CodeOverrideLimitReached (HTTP 429): the organisation's daily limit of overrides is reached; retry after Retry-After.
	CodeOverrideLimitReached = "override_limit_reached"
	// CodeInvalidURL (HTTP 400): the URL is not an acceptable webhook or push endpoint.
	CodeInvalidURL = "invalid_url"
	// CodeForbiddenAddress (HTTP 400): the webhook URL resolves to a private or reserved address.
	CodeForbiddenAddress = "forbidden_address"
	// CodeUnresolvable (HTTP 400): the webhook host name does not resolve.
	CodeUnresolvable = "unresolvable"
	// CodeTooManyWebhooks (HTTP 409): the organisation has as many webhook endpoints as it may.
	CodeTooManyWebhooks = "too_many_webhooks"
	// CodeWebhookDisabled (HTTP 409): the webhook endpoint is disabled.
	CodeWebhookDisabled = "webhook_disabled"
	// CodeDeliveryInProgress (HTTP 409): an attempt of this delivery is in progress.
	CodeDeliveryInProgress = "delivery_in_progress"
	// CodeEmptyLog (HTTP 404): the audit log has no entries yet.
	CodeEmptyLog = "empty_log"
	// CodeAuditLogDamaged (HTTP 500): the stored audit log does not hash to its tree; run sigil audit verify.
	CodeAuditLogDamaged = "audit_log_damaged"
	// CodeAuditLogTampered (HTTP 500): the audit log no longer extends what this server saw; no tree head is signed until an operator has looked.
	CodeAuditLogTampered = "audit_log_tampered"
)

// ValidationError is returned when the SDK refuses a request before sending it. Message is
// exactly what the server would answer for the same request, for example
// "Invalid MPA request: required cannot exceed number of groups" or
// "Invalid expires_in_seconds: must be between 60 and 900". It wraps [ErrInvalidRequest].
type ValidationError struct {
	// Message is the server's message for the same request, without any prefix.
	Message string
}

// Error returns Message unchanged, so that it can be compared with the server's message.
func (e *ValidationError) Error() string { return e.Message }

// Unwrap returns [ErrInvalidRequest].
func (e *ValidationError) Unwrap() error { return ErrInvalidRequest }

// Code is "invalid_request", the code the server uses for the same failure.
func (e *ValidationError) Code() string { return CodeInvalidRequest }

// ConfigError is returned by [New] (and by options such as AwaitOptions) for unusable
// settings: no API key, a plain-http URL to a remote host, a negative timeout. It wraps
// [ErrInvalidConfig].
type ConfigError struct {
	// Code is machine-readable: "missing_api_key", "invalid_api_key", "insecure_service_url"
	// or "invalid_config".
	Code string
	// Message says what is wrong and how to fix it.
	Message string
}

// Error returns "sigil: " followed by Message.
func (e *ConfigError) Error() string { return "sigil: " + e.Message }

// Unwrap returns [ErrInvalidConfig].
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// APIError is an error response from the server: `{ "error": { "code", "message", "details" } }`
// with its HTTP status. It matches [ErrInvalidRequest] (code "invalid_request"),
// [ErrUnauthorized] (401), [ErrNotFound] (404) and [ErrRateLimited] (429) with errors.Is.
//
// A few failures that the SDK detects in a response also use this type: a redirect (code
// "unexpected_redirect") and a 2xx response that is not JSON (code "invalid_response").
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Code is the server's machine-readable code, one of the Code* constants such as
	// [CodeInvalidRequest] or [CodeRequestCompleted]; "http_<status>" when the body had none.
	Code string
	// Message is the server's message, unchanged.
	Message string
	// Details is the server's error.details, when present (e.g. {"status": "approved"} for a
	// 409 request_completed).
	Details map[string]any
	// Method and Path identify the call, e.g. "POST" and "/v1/mpa/requests".
	Method, Path string
	// Attempts is how many HTTP attempts were made, retries included.
	Attempts int
	// RetryAfter is the server's Retry-After, when it sent one.
	RetryAfter time.Duration
}

// Error returns the server's message with the status and code.
func (e *APIError) Error() string {
	return fmt.Sprintf("sigil: %s (HTTP %d, %s)", e.Message, e.Status, e.Code)
}

// Is reports whether the error matches one of the sentinels [ErrInvalidRequest],
// [ErrUnauthorized], [ErrNotFound] or [ErrRateLimited].
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrInvalidRequest:
		return e.Code == CodeInvalidRequest
	case ErrUnauthorized:
		return e.Status == 401
	case ErrNotFound:
		return e.Status == 404
	case ErrRateLimited:
		return e.Status == 429
	}
	return false
}

// NetworkError means no usable response was received: the connection failed or was dropped,
// or the per-attempt timeout (Config.Timeout) passed. It matches [ErrNetwork] and unwraps to
// the underlying error.
type NetworkError struct {
	// Method and Path identify the call.
	Method, Path string
	// Attempts is how many HTTP attempts were made, retries included.
	Attempts int
	// Timeout is true when the last attempt got no response within Config.Timeout.
	Timeout bool
	// Err is the underlying transport error.
	Err error
}

// Error describes the failed call.
func (e *NetworkError) Error() string {
	if e.Timeout {
		return fmt.Sprintf("sigil: %s %s: no response within the per-attempt timeout (after %d attempts): %v", e.Method, e.Path, e.Attempts, e.Err)
	}
	return fmt.Sprintf("sigil: %s %s failed (after %d attempts): %v", e.Method, e.Path, e.Attempts, e.Err)
}

// Unwrap returns the underlying transport error.
func (e *NetworkError) Unwrap() error { return e.Err }

// Is reports whether target is [ErrNetwork].
func (e *NetworkError) Is(target error) bool { return target == ErrNetwork }

// AwaitTimeoutError is returned by [MPAService.AwaitResult] when its deadline passes while the
// request is still pending. It matches both [ErrAwaitTimeout] and context.DeadlineExceeded.
// The request itself is not affected: it stays pending until it is decided or expires.
type AwaitTimeoutError struct {
	// RequestID is the request that was awaited.
	RequestID string
	// LastSeen is the last state received, or nil when no poll succeeded.
	LastSeen *MPARequestView
	// Err is the cause: context.DeadlineExceeded, or the transient error (network, 429, 5xx)
	// whose retries the deadline cut short.
	Err error
}

// Error describes the timeout.
func (e *AwaitTimeoutError) Error() string {
	return fmt.Sprintf("sigil: MPA request %s was still pending when the deadline passed: %v", e.RequestID, e.Err)
}

// Unwrap returns the cause.
func (e *AwaitTimeoutError) Unwrap() error { return e.Err }

// Is reports whether target is [ErrAwaitTimeout] or context.DeadlineExceeded.
func (e *AwaitTimeoutError) Is(target error) bool {
	return target == ErrAwaitTimeout || target == context.DeadlineExceeded
}

// Webhook verification error codes, as in [WebhookError.Code]; they are the Node SDK's codes.
const (
	// WebhookMissingHeaders: webhook-id, webhook-timestamp or webhook-signature is missing
	// (or occurs more than once with different values).
	WebhookMissingHeaders = "missing_headers"
	// WebhookInvalidTimestamp: webhook-timestamp is not a Unix time in whole seconds.
	WebhookInvalidTimestamp = "invalid_timestamp"
	// WebhookTimestampOutOfTolerance: webhook-timestamp is too far in the past or future.
	WebhookTimestampOutOfTolerance = "timestamp_out_of_tolerance"
	// WebhookInvalidSignature: no v1 signature matches.
	WebhookInvalidSignature = "invalid_signature"
	// WebhookInvalidSecret: the secret is not "whsec_" followed by standard base64.
	WebhookInvalidSecret = "invalid_secret"
	// WebhookInvalidBody: the body is not a JSON event object with a string type.
	WebhookInvalidBody = "invalid_body"
)

// WebhookError is returned by [VerifyWebhook] when a delivery is not accepted. Answer such a
// delivery with HTTP 400 (or 401) and do not act on it. It matches [ErrWebhookVerification]
// and the sentinel for its code ([ErrWebhookSignature], [ErrWebhookTimestamp], ...).
type WebhookError struct {
	// Code says why: one of the Webhook* constants, e.g. "invalid_signature".
	Code string
	// Message describes the failure; it never contains the secret.
	Message string
}

// Error returns the message with a prefix.
func (e *WebhookError) Error() string { return "sigil: webhook verification failed: " + e.Message }

// Is reports whether target is [ErrWebhookVerification] or the sentinel for e.Code.
func (e *WebhookError) Is(target error) bool {
	switch target {
	case ErrWebhookVerification:
		return true
	case ErrWebhookHeaders:
		return e.Code == WebhookMissingHeaders
	case ErrWebhookTimestamp:
		return e.Code == WebhookInvalidTimestamp || e.Code == WebhookTimestampOutOfTolerance
	case ErrWebhookSignature:
		return e.Code == WebhookInvalidSignature
	case ErrWebhookSecret:
		return e.Code == WebhookInvalidSecret
	case ErrWebhookBody:
		return e.Code == WebhookInvalidBody
	}
	return false
}
