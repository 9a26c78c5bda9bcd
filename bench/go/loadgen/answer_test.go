package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// The Solution frame for the Challenge frame of tests/vectors/protocol-v1.json (docs/PROTOCOL.md).
func TestAnswerProtocolVector(t *testing.T) {
	raw, err := os.ReadFile("../../../tests/vectors/protocol-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Frames struct {
			Challenge string `json:"challenge_hex"`
			Solution  string `json:"solution_hex"`
		} `json:"frames"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	ch, _ := hex.DecodeString(v.Frames.Challenge)
	want, _ := hex.DecodeString(v.Frames.Solution)
	got, err := newAnswerer().answer(ch[headerBytes:], nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("solution frame\n got %x\nwant %x", got, want)
	}
}

func TestAnswerRefusesWhatItCannotRead(t *testing.T) {
	mac := string(bytes.Repeat([]byte("a"), 64))
	for _, p := range []string{`{"mac":"` + mac + `"}`, `{"bits":33,"mac":"` + mac + `"}`, `{"bits":"1","mac":"` + mac + `"}`,
		`{"bits":1}`, `{"bits":1,"mac":"` + mac[1:] + `"}`, `{"bits":1,"mac":"` + string(bytes.Repeat([]byte("A"), 64)) + `"}`} {
		if _, err := newAnswerer().answer([]byte(p), nil); err == nil {
			t.Errorf("answered %s", p)
		}
	}
}
