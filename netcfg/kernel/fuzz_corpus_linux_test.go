//go:build linux

package kernel_test

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
	"golang.org/x/sys/unix"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz from messages captured in a namespace")

// TestFuzzCorpusFromKernel dumps the routes and rules of a namespace that
// holds every attribute nictab models, checks that the kernel's own
// messages decode with nothing left unmodelled (the attribute numbers and
// layouts match the kernel's), and with -update-corpus writes them as the
// fuzz targets' seed corpus.
func TestFuzzCorpusFromKernel(t *testing.T) {
	ns, k, _, _ := attrNS(t)
	ns.IP("-6", "route", "add", "2001:db8:60::/48", "via", "2001:db8:9::2", "dev", "a0", "expires", "300")
	ns.IP("route", "add", "10.30.0.0/16", "encap", "ip", "id", "9", "dst", "10.9.0.7", "dev", "a0", "table", "14")
	seeds := map[string][][]byte{}
	rtm := make([]byte, unix.SizeofRtMsg)
	for _, fam := range []byte{unix.AF_INET, unix.AF_INET6} {
		rtm[0] = fam
		msgs, err := kernel.RawDump(k, unix.RTM_GETROUTE, rtm)
		if err != nil {
			t.Fatal(err)
		}
		seeds["FuzzDecodeRoute"] = append(seeds["FuzzDecodeRoute"], msgs...)
		frh := make([]byte, 12)
		frh[0] = fam
		rules, err := kernel.RawDump(k, unix.RTM_GETRULE, frh)
		if err != nil {
			t.Fatal(err)
		}
		seeds["FuzzDecodeRule"] = append(seeds["FuzzDecodeRule"], rules...)
	}
	links, err := kernel.RawDump(k, unix.RTM_GETLINK, make([]byte, unix.SizeofIfInfomsg))
	if err != nil {
		t.Fatal(err)
	}
	seeds["FuzzDecodeLink"] = links
	addrs, err := kernel.RawDump(k, unix.RTM_GETADDR, make([]byte, unix.SizeofIfAddrmsg))
	if err != nil {
		t.Fatal(err)
	}
	seeds["FuzzDecodeAddr"] = addrs
	for _, m := range seeds["FuzzDecodeRoute"] {
		forEachAttr(m[unix.SizeofRtMsg:], func(typ uint16, v []byte) {
			if typ == unix.RTA_MULTIPATH {
				seeds["FuzzDecodeMultipath"] = append(seeds["FuzzDecodeMultipath"], v)
			}
		})
	}
	errMsg, flags, err := kernel.RawRefusal(k)
	if err != nil {
		t.Fatal(err)
	}
	seeds["FuzzParseErr"] = [][]byte{append(binary.NativeEndian.AppendUint16(nil, flags), errMsg...)}
	// Whole datagrams: a few messages framed as the kernel frames them.
	for _, m := range seeds["FuzzDecodeRoute"][:3] {
		seeds["FuzzEachMsg"] = append(seeds["FuzzEachMsg"], frame(unix.RTM_NEWROUTE, m))
	}
	seeds["FuzzEachMsg"] = append(seeds["FuzzEachMsg"], frame(unix.RTM_NEWRULE, seeds["FuzzDecodeRule"][1]), frame(unix.NLMSG_ERROR, errMsg))

	rules, err := k.Rules()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if len(r.Unmodelled) > 0 {
			t.Errorf("the kernel's rule %s has attributes nictab does not model", netcfg.RuleString(&r))
		}
	}
	var expiring, encap int
	err = k.Routes(netcfg.RouteQuery{}, func(r *netcfg.Route) error {
		if len(r.Unmodelled) > 0 {
			t.Errorf("the kernel's route %s has attributes nictab does not model", netcfg.RouteString(r))
		}
		if r.Expires > 0 && r.Expires <= 300 {
			expiring++
		}
		if r.Encap != nil && r.Encap.Type == unix.LWTUNNEL_ENCAP_IP {
			encap++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if expiring != 1 || encap != 1 {
		t.Errorf("read %d routes expiring within 300 s and %d with ip encap; want 1 and 1", expiring, encap)
	}
	for target, msgs := range seeds {
		if len(msgs) == 0 {
			t.Errorf("%s: no seed captured", target)
		}
	}
	if !*updateCorpus {
		return
	}
	for target, msgs := range seeds {
		// Inputs fuzzing found stay: they are regressions.
		dir := filepath.Join("testdata", "fuzz", target)
		old, err := filepath.Glob(filepath.Join(dir, "kernel-*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range old {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, m := range msgs {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", m)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("kernel-%03d", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func frame(typ uint16, payload []byte) []byte {
	b := make([]byte, unix.SizeofNlMsghdr, unix.SizeofNlMsghdr+len(payload)+3)
	binary.NativeEndian.PutUint32(b, uint32(unix.SizeofNlMsghdr+len(payload)))
	binary.NativeEndian.PutUint16(b[4:], typ)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func forEachAttr(b []byte, fn func(typ uint16, v []byte)) {
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b))
		if l < 4 || l > len(b) {
			return
		}
		fn(binary.NativeEndian.Uint16(b[2:])&0x3fff, b[4:l])
		b = b[min((l+3)&^3, len(b)):]
	}
}
