package main

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
)

// Wire protocol v1 (docs/PROTOCOL.md, "Frames" and "What the client hashes").
const (
	protocolVersion = 1
	typeChallenge   = 1
	typeSolution    = 2
	typeQuote       = 3
	headerBytes     = 4
	maxPayload      = 4096
	maxBits         = 32
)

var (
	keyBits = []byte(`"bits":`)
	keyMac  = []byte(`"mac":"`)
	head    = []byte(`{"challenge":`)
	mid     = []byte(`,"counter":"`)
	hexDigs = []byte("0123456789abcdef")
)

// after returns the index just past the first occurrence of key in b, or -1. A key of the challenge's
// own object cannot be matched inside a string value: JSON escapes the '"' that starts it there.
func after(b, key []byte) int {
outer:
	for i, end := 0, len(b)-len(key); i <= end; i++ {
		for j := range key {
			if b[i+j] != key[j] {
				continue outer
			}
		}
		return i + len(key)
	}
	return -1
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return -1
}

func leadingZeroBits(d *[32]byte) int {
	n := 0
	for _, b := range d {
		if b == 0 {
			n += 8
			continue
		}
		for b&0x80 == 0 {
			n++
			b <<= 1
		}
		return n
	}
	return n
}

// answerer builds Solution frames; its buffers are reused from one challenge to the next.
type answerer struct {
	msg [72]byte // prefix (64 bytes) || counter (8 bytes)
}

func newAnswerer() *answerer {
	a := &answerer{}
	copy(a.msg[:], "wisdom/hashcash1")
	return a
}

// answer appends to out[:0] the Solution frame for one Challenge payload (its JSON bytes, echoed back
// exactly as received), with the first counter from 0 that meets the difficulty: the frame
// bench/answer.ts and encodeSolution build. Like bench/answer.ts it reads only "bits" and "mac" and
// refuses a challenge it cannot read rather than answering wrongly.
func (a *answerer) answer(payload, out []byte) ([]byte, error) {
	i := after(payload, keyBits)
	if i < 0 {
		return out, errors.New("challenge has no bits")
	}
	bits, digits := 0, 0
	for ; i < len(payload) && payload[i] >= '0' && payload[i] <= '9' && digits < 3; i, digits = i+1, digits+1 {
		bits = bits*10 + int(payload[i]-'0')
	}
	if digits == 0 || bits > maxBits {
		return out, errors.New("challenge difficulty is not an integer in 0..32")
	}
	m := after(payload, keyMac)
	if m < 0 || m+65 > len(payload) || payload[m+64] != '"' {
		return out, errors.New("challenge has no 64-digit mac")
	}
	a.msg[16] = byte(bits)
	for k := 0; k < 32; k++ {
		hi, lo := hexVal(payload[m+2*k]), hexVal(payload[m+2*k+1])
		if hi < 0 || lo < 0 {
			return out, errors.New("challenge mac is not lowercase hex")
		}
		a.msg[32+k] = byte(hi<<4 | lo)
	}
	var counter uint64
	for ; ; counter++ {
		binary.BigEndian.PutUint64(a.msg[64:], counter)
		d := sha256.Sum256(a.msg[:])
		if leadingZeroBits(&d) >= bits {
			break
		}
	}
	n := len(head) + len(payload) + len(mid) + 16 + 2
	if n > maxPayload {
		return out, errors.New("challenge too long to answer")
	}
	out = append(out[:0], protocolVersion, typeSolution, byte(n>>8), byte(n))
	out = append(out, head...)
	out = append(out, payload...)
	out = append(out, mid...)
	for k := 0; k < 8; k++ {
		c := a.msg[64+k]
		out = append(out, hexDigs[c>>4], hexDigs[c&15])
	}
	return append(out, '"', '}'), nil
}
