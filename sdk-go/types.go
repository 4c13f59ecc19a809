package sigil

import "time"

// MPAStatus is the state of an MPA request.
type MPAStatus string

// The states of an MPA request. Every status but StatusPending is final.
const (
	// StatusPending: waiting for approvals.
	StatusPending MPAStatus = "pending"
	// StatusApproved: the required number of groups approved.
	StatusApproved MPAStatus = "approved"
	// StatusRejected: an approver denied the request.
	StatusRejected MPAStatus = "rejected"
	// StatusTimeout: the request expired before reaching quorum.
	StatusTimeout MPAStatus = "timeout"
	// StatusCancelled: the integrator cancelled the request.
	StatusCancelled MPAStatus = "cancelled"
)

// IsTerminal reports whether the status is final (anything but pending).
func (s MPAStatus) IsTerminal() bool {
	switch s {
	case StatusApproved, StatusRejected, StatusTimeout, StatusCancelled:
		return true
	}
	return false
}

// Approver is one approver device in a group, as returned by pairing
// ([Pairing.Fingerprint], [Pairing.DevicePublicKey]) or by [DevicesService.List].
type Approver struct {
	// Fingerprint is the lower-case hex SHA-256 of the device's compressed public key.
	Fingerprint string `json:"fingerprint"`
	// DevicePublicKey is the device's 33-byte compressed P-256 public key, standard base64.
	DevicePublicKey string `json:"device_public_key"`
}

// ApprovalGroup is a set of approvers; it is satisfied when any one of them approves. It lists
// its Approvers, or names a Team instead (one or the other).
type ApprovalGroup struct {
	// Name is shown to approvers and reported in GroupsSatisfied; unique within a request,
	// at most 100 characters.
	Name string `json:"name"`
	// Approvers are the group's devices: 1 to 50, each in only one group of the request.
	Approvers []Approver `json:"approvers,omitempty"`
	// Team is the slug of an approval team ([TeamsService]): the group's approvers are the
	// team's active members when the request is created, frozen with the request.
	Team string `json:"team,omitempty"`
}

// RequestedBy names a request's requester, whose own devices never count toward its quorum:
// set exactly one of Fingerprint (that device, and every device linked to the same owner) or
// ID (every device linked to that owner with [DevicesService.SetOwner]).
type RequestedBy struct {
	Fingerprint string `json:"fingerprint,omitempty"`
	ID          string `json:"id,omitempty"`
}

// MPAAction describes what is being approved. Approvers see Description and Params.
type MPAAction struct {
	// Type is a short machine-readable name, e.g. "cold_boot"; at most 100 characters.
	Type string `json:"type"`
	// Description is the headline approvers see; at most 1000 characters.
	Description string `json:"description"`
	// Params is the context shown to approvers. Values must encode as JSON strings, numbers
	// or booleans (string, bool, any integer or finite float type, json.Number). In responses
	// numbers are float64.
	Params map[string]any `json:"params,omitempty"`
}

// MPARequest is the body of a new MPA request: Required of len(Groups) groups must approve.
type MPARequest struct {
	// Required is how many groups must approve (M of N): 1 to len(Groups).
	Required int `json:"required"`
	// Groups are the approval groups (N), 1 to 20.
	Groups []ApprovalGroup `json:"groups"`
	// Action is what is being approved.
	Action MPAAction `json:"action"`
	// ExpiresInSeconds is how long approvers have: 60 to 900. Zero means the server's
	// default of 300 (5 minutes).
	ExpiresInSeconds int `json:"expires_in_seconds,omitempty"`
	// RequestedBy optionally names the requester: their own devices are left out of every
	// group, and a request they alone could satisfy is refused.
	RequestedBy *RequestedBy `json:"requested_by,omitempty"`
	// IdempotencyKey is sent as the Idempotency-Key header (1-255 printable ASCII characters).
	// When empty the SDK generates a random UUID for the call, which makes its own retries
	// safe; set your own (e.g. derived from a job ID) to make your retries safe too. It is not
	// part of the JSON body.
	IdempotencyKey string `json:"-"`
}

// MPARequestView is the integrator's view of an MPA request: group-level results only, never
// which device decided.
type MPARequestView struct {
	// RequestID identifies the request (a UUID).
	RequestID string `json:"request_id"`
	// Status is the current state. A pending request past its expiry is reported as timeout.
	Status MPAStatus `json:"status"`
	// GroupsRequired is M, the number of groups that must approve.
	GroupsRequired int `json:"groups_required"`
	// GroupsTotal is N, the number of groups.
	GroupsTotal int `json:"groups_total"`
	// GroupsSatisfied names the groups that have approved, in the order they were satisfied.
	GroupsSatisfied []string `json:"groups_satisfied"`
	// ExpiresAt is when a pending request times out.
	ExpiresAt time.Time `json:"expires_at"`
	// CreatedAt is when the request was created.
	CreatedAt time.Time `json:"created_at"`
	// CompletedAt is when the request reached its final status; nil while pending.
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	// Action is the action as stored, with Params always present.
	Action MPAAction `json:"action"`
}

// ListOptions filters and pages [MPAService.List].
type ListOptions struct {
	// Status returns only requests in this state; empty for all.
	Status MPAStatus
	// Limit is the page size, 1 to 100; zero means the server's default of 50.
	Limit int
	// Cursor is NextCursor from the previous page; empty for the first page.
	Cursor string
}

// MPAList is one page of MPA requests.
type MPAList struct {
	// Data holds the requests, newest first.
	Data []MPARequestView `json:"data"`
	// NextCursor is passed as ListOptions.Cursor for the next page; empty on the last page.
	NextCursor string `json:"next_cursor"`
}

// AwaitOptions tunes [MPAService.AwaitResult].
type AwaitOptions struct {
	// PollInterval is the time between polls; zero means 3 seconds.
	PollInterval time.Duration
	// Timeout, when positive, bounds the wait like context.WithTimeout. A context deadline
	// works the same way; either one passing gives an [*AwaitTimeoutError].
	Timeout time.Duration
}

// Pictogram is the server's emoji fingerprint; approver devices show the same five emoji
// when they pair, so a person can check they are pairing with the right server.
type Pictogram struct {
	// Emoji are the five emoji.
	Emoji []string `json:"emoji"`
	// Names are their English names, e.g. "dog".
	Names []string `json:"names"`
	// Text is the emoji separated by spaces.
	Text string `json:"text"`
}

// PairingStatus is the state of a pairing.
type PairingStatus string

// The states of a pairing.
const (
	// PairingPending: waiting for a device to enter the code.
	PairingPending PairingStatus = "pending"
	// PairingCompleted: a device has paired.
	PairingCompleted PairingStatus = "completed"
	// PairingExpired: the code expired or was burned by wrong guesses.
	PairingExpired PairingStatus = "expired"
)

// PairingOptions are the options of [PairingsService.Create].
type PairingOptions struct {
	// Name is a hint for the device's name, 1 to 100 characters; empty for none.
	Name string `json:"name,omitempty"`
}

// PairingCreated is an open pairing. Show Code (and Pictogram) to the person pairing a device.
type PairingCreated struct {
	// PairingID identifies the pairing, for [PairingsService.Get].
	PairingID string `json:"pairing_id"`
	// Code is the single-use 8-digit code, valid until ExpiresAt (5 minutes).
	Code string `json:"code"`
	// Status is PairingPending.
	Status PairingStatus `json:"status"`
	// Name is the name hint, or empty.
	Name string `json:"name"`
	// ExpiresAt is when the code stops working.
	ExpiresAt time.Time `json:"expires_at"`
	// ServerID is the server's ID (the fingerprint of its public key).
	ServerID string `json:"server_id"`
	// ServerPublicKey is the server's compressed P-256 public key, standard base64.
	ServerPublicKey string `json:"server_public_key"`
	// Pictogram is the server's emoji fingerprint.
	Pictogram Pictogram `json:"pictogram"`
}

// Pairing is the state of a pairing. Once completed it names the paired device.
type Pairing struct {
	// PairingID identifies the pairing.
	PairingID string `json:"pairing_id"`
	// Status is pending, completed or expired.
	Status PairingStatus `json:"status"`
	// Name is the device's name once completed, else the name hint (or empty).
	Name string `json:"name"`
	// ExpiresAt is when the code stops (or stopped) working.
	ExpiresAt time.Time `json:"expires_at"`
	// CreatedAt is when the pairing was opened.
	CreatedAt time.Time `json:"created_at"`
	// CompletedAt is when a device paired; nil until then.
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	// Fingerprint is the paired device's fingerprint; empty until completed.
	Fingerprint string `json:"fingerprint,omitempty"`
	// DevicePublicKey is the paired device's public key; empty until completed.
	DevicePublicKey string `json:"device_public_key,omitempty"`
}

// Approver returns the paired device as an approver for an [ApprovalGroup]. It is only
// meaningful once Status is PairingCompleted.
func (p *Pairing) Approver() Approver {
	return Approver{Fingerprint: p.Fingerprint, DevicePublicKey: p.DevicePublicKey}
}

// DeviceStatus is the state of a paired device.
type DeviceStatus string

// The states of a paired device.
const (
	// DeviceActive: the device can approve and deny.
	DeviceActive DeviceStatus = "active"
	// DeviceRevoked: the device can no longer decide anything.
	DeviceRevoked DeviceStatus = "revoked"
)

// Device is an approver device paired with the organisation.
type Device struct {
	// Fingerprint is the lower-case hex SHA-256 of the device's compressed public key.
	Fingerprint string `json:"fingerprint"`
	// DevicePublicKey is the 33-byte compressed P-256 public key, standard base64.
	DevicePublicKey string `json:"device_public_key"`
	// Name is the device's name.
	Name string `json:"name"`
	// PairedAt is when the device (last) paired.
	PairedAt time.Time `json:"paired_at"`
	// Status is active or revoked.
	Status DeviceStatus `json:"status"`
	// RevokedAt is when the device was revoked; nil while active.
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// Attestation tells how the device's key is held.
	Attestation DeviceAttestation `json:"attestation"`
	// OwnerID is who the device belongs to, as your application names them; empty when unset.
	OwnerID string `json:"owner_id,omitempty"`
}

// Approver returns the device as an approver for an [ApprovalGroup].
func (d *Device) Approver() Approver {
	return Approver{Fingerprint: d.Fingerprint, DevicePublicKey: d.DevicePublicKey}
}

// DeviceAttestation tells how a device's key is held: Format "software" for a sigil-device key
// file, otherwise the WebAuthn attestation format of a passkey ("packed", "apple", "none", ...).
type DeviceAttestation struct {
	// Format is "software" or the passkey's attestation format.
	Format string `json:"format"`
	// AAGUID identifies the authenticator model of a passkey; empty for software keys.
	AAGUID string `json:"aaguid,omitempty"`
	// Model is the authenticator's name, where the server's metadata knows it.
	Model string `json:"model,omitempty"`
	// Verified is true when the attestation chains to a trusted root.
	Verified bool `json:"verified"`
}
