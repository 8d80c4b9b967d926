package offline

import (
	"bytes"
	"encoding/base64"
)

// strict is the base64 of every field of a license file. Strict decoding
// refuses non-zero padding bits, so one file has exactly one encoding (line
// breaks aside); '\r' and '\n' are still skipped.
var strict = base64.StdEncoding.Strict()

// certificateBody strips surrounding whitespace and the optional armour from
// a certificate and returns the base64 text, which may still hold line
// breaks and other whitespace (see compactBody).
func certificateBody(in []byte) ([]byte, error) {
	body := bytes.TrimSpace(in)
	if bytes.HasPrefix(body, []byte(ArmorBegin)) {
		if !bytes.HasSuffix(body, []byte(ArmorEnd)) || len(body) < len(ArmorBegin)+len(ArmorEnd)+1 {
			return nil, errorf(ErrMalformed, "armour has no end line")
		}
		inner := body[len(ArmorBegin) : len(body)-len(ArmorEnd)]
		if !startsWithNewline(inner) || !endsWithNewline(inner) {
			return nil, errorf(ErrMalformed, "armour lines must be lines of their own")
		}
		body = bytes.TrimSpace(inner)
	}
	if len(body) == 0 {
		return nil, errorf(ErrMalformed, "empty license file")
	}
	return body, nil
}

// compactBody removes the whitespace that base64 decoding does not skip
// (it skips only '\r' and '\n'); it reports false when there is none.
func compactBody(body []byte) ([]byte, bool) {
	if !bytes.ContainsAny(body, " \t\v\f") {
		return nil, false
	}
	{
		compact := make([]byte, 0, len(body))
		for _, c := range body {
			switch c {
			case ' ', '\t', '\v', '\f', '\r', '\n':
			default:
				compact = append(compact, c)
			}
		}
		return compact, true
	}
}

// startsWithNewline and endsWithNewline report whether b begins (ends) with a
// line break, ignoring spaces and tabs before (after) it.
func startsWithNewline(b []byte) bool {
	b = bytes.TrimLeft(b, " \t")
	return len(b) > 0 && (b[0] == '\n' || (b[0] == '\r' && len(b) > 1 && b[1] == '\n'))
}

func endsWithNewline(b []byte) bool {
	b = bytes.TrimRight(b, " \t")
	return len(b) > 0 && b[len(b)-1] == '\n'
}

// envelope is a parsed, complete envelope.
type envelope struct {
	kid     string
	payload string // exactly as in the envelope
	sig     [64]byte
}

// parseEnvelope parses the envelope JSON strictly: an object holding "v" (the
// number 1), "alg" ("ed25519"), and non-empty strings "kid", "payload" and
// "sig" (standard base64 of 64 bytes), each exactly once. Unknown fields are
// ignored.
func parseEnvelope(s string, env *envelope) error {
	r := reader{s: s}
	if r.peek() != '{' {
		return errorf(ErrMalformed, "envelope is not a JSON object")
	}
	var seen uint8
	const (
		seenV = 1 << iota
		seenAlg
		seenKID
		seenPayload
		seenSig
		seenAll = seenV | seenAlg | seenKID | seenPayload | seenSig
	)
	mark := func(bit uint8) bool {
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		return true
	}
	var sig string
	for more := r.objectStart(); more; more = r.objectNext() {
		k := r.key()
		if r.err != "" {
			break
		}
		switch k {
		case "v":
			if !mark(seenV) {
				return errorf(ErrMalformed, `envelope repeats "v"`)
			}
			if c := r.peek(); c != '-' && (c < '0' || c > '9') {
				return errorf(ErrMalformed, `envelope "v" is not a number`)
			}
			text, _ := r.number()
			if r.err == "" && text != "1" {
				return errorf(ErrMalformed, "unsupported envelope version")
			}
		case "alg", "kid", "payload", "sig":
			bit := uint8(seenSig)
			switch k {
			case "alg":
				bit = seenAlg
			case "kid":
				bit = seenKID
			case "payload":
				bit = seenPayload
			}
			if !mark(bit) {
				return errorf(ErrMalformed, "envelope repeats a field")
			}
			if r.peek() != '"' {
				return errorf(ErrMalformed, "envelope field is not a string")
			}
			v := r.str()
			if r.err != "" {
				break
			}
			if v == "" {
				return errorf(ErrMalformed, "envelope field is empty")
			}
			switch k {
			case "alg":
				if v != Algorithm {
					return errorf(ErrMalformed, "unsupported signature algorithm")
				}
			case "kid":
				env.kid = v
			case "payload":
				env.payload = v
			case "sig":
				sig = v
			}
		default:
			r.skip()
		}
	}
	r.end()
	if r.err != "" {
		return errorf(ErrMalformed, "envelope is not valid JSON: "+r.err)
	}
	if seen != seenAll {
		return errorf(ErrMalformed, "envelope lacks a required field")
	}
	// 64 bytes encode to exactly 88 characters; copying them into an array
	// keeps the decode free of allocations.
	var text [88]byte
	if len(sig) != len(text) {
		return errorf(ErrMalformed, "signature is not base64 of 64 bytes")
	}
	copy(text[:], sig)
	var buf [66]byte
	n, err := strict.Decode(buf[:], text[:])
	if err != nil || n != len(env.sig) {
		return errorf(ErrMalformed, "signature is not base64 of 64 bytes")
	}
	copy(env.sig[:], buf[:n])
	return nil
}
