//go:build integration

package diagnose

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/netns"
)

// dnsServer is the smallest authoritative DNS server diagnose's resolver
// accepts: UDP, one question per query, A and AAAA answers from a table,
// NXDOMAIN for names not in it, no compression but the answer's pointer to
// the question.
type dnsServer struct {
	mu      sync.Mutex
	records map[string][]netip.Addr // by lower-case name, without the root's dot
}

const (
	dnsHeaderLen  = 12
	typeA         = 1
	typeAAAA      = 28
	classIN       = 1
	rcodeNXDomain = 3
	answerTTL     = 5
	// Header flags: a response (QR), authoritative (AA), recursion
	// available (RA).
	flagResponse           = 1 << 15
	flagAuthoritative      = 1 << 10
	flagRecursionDesired   = 1 << 8
	flagRecursionAvailable = 1 << 7
)

// startDNS serves on address (UDP) inside ns until the test ends.
func startDNS(t *testing.T, ns *netns.Namespace, address netip.AddrPort) *dnsServer {
	t.Helper()
	var conn net.PacketConn
	err := ns.Do(func() error {
		var err error
		conn, err = net.ListenPacket("udp", address.String())
		return err
	})
	if err != nil {
		t.Fatalf("DNS server on %s: %v", address, err)
	}
	s := &dnsServer{records: map[string][]netip.Addr{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.serve(conn)
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return s
}

// set makes name resolve to addrs, or not exist at all without any.
func (s *dnsServer) set(name string, addrs ...netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[strings.ToLower(name)] = addrs
}

func (s *dnsServer) serve(conn net.PacketConn) {
	buf := make([]byte, 1500)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if reply, err := s.answer(buf[:n]); err == nil {
			_, _ = conn.WriteTo(reply, from)
		}
	}
}

// answer builds the response to one query.
func (s *dnsServer) answer(query []byte) ([]byte, error) {
	if len(query) < dnsHeaderLen || binary.BigEndian.Uint16(query[4:6]) != 1 {
		return nil, errors.New("not a query with one question")
	}
	name, questionEnd, err := readName(query, dnsHeaderLen)
	if err != nil || questionEnd+4 > len(query) {
		return nil, errors.New("malformed question")
	}
	qtype := binary.BigEndian.Uint16(query[questionEnd : questionEnd+2])
	question := query[dnsHeaderLen : questionEnd+4]

	s.mu.Lock()
	addrs, known := s.records[strings.ToLower(name)]
	s.mu.Unlock()
	var answers [][]byte
	for _, addr := range addrs {
		if (qtype == typeA && addr.Is4()) || (qtype == typeAAAA && addr.Is6()) {
			answers = append(answers, resourceRecord(qtype, addr.AsSlice()))
		}
	}

	flags := uint16(flagResponse|flagAuthoritative|flagRecursionAvailable) | binary.BigEndian.Uint16(query[2:4])&flagRecursionDesired
	if !known || len(addrs) == 0 {
		flags |= rcodeNXDomain
	}
	reply := make([]byte, dnsHeaderLen, 512)
	copy(reply[0:2], query[0:2]) // the query's ID
	binary.BigEndian.PutUint16(reply[2:4], flags)
	binary.BigEndian.PutUint16(reply[4:6], 1)
	binary.BigEndian.PutUint16(reply[6:8], uint16(len(answers)))
	reply = append(reply, question...)
	for _, a := range answers {
		reply = append(reply, a...)
	}
	return reply, nil
}

// resourceRecord is an IN record of rtype whose name points at the question.
func resourceRecord(rtype uint16, data []byte) []byte {
	rr := []byte{0xc0, dnsHeaderLen} // pointer to the question's name
	rr = binary.BigEndian.AppendUint16(rr, rtype)
	rr = binary.BigEndian.AppendUint16(rr, classIN)
	rr = binary.BigEndian.AppendUint32(rr, answerTTL)
	rr = binary.BigEndian.AppendUint16(rr, uint16(len(data)))
	return append(rr, data...)
}

// readName reads the uncompressed name at offset and returns it without
// the root's dot, and where it ends.
func readName(msg []byte, offset int) (string, int, error) {
	var labels []string
	for offset < len(msg) {
		length := int(msg[offset])
		offset++
		if length == 0 {
			return strings.Join(labels, "."), offset, nil
		}
		if length > 63 || offset+length > len(msg) {
			return "", 0, errors.New("bad label")
		}
		labels = append(labels, string(msg[offset:offset+length]))
		offset += length
	}
	return "", 0, errors.New("name runs past the message")
}
