#!/usr/bin/env bash
# The whole test suite: vet, staticcheck, and every test, including the ones
# that build network namespaces (they need root) and the ones that drive the
# terminal UI under tmux, check Nix output with nix-instantiate, run
# systemd-networkd on the networkd export inside a namespace, and run the
# Ansible collection of contrib/ansible with ansible-core.
set -euo pipefail
cd "$(dirname "$0")"

if [ "$(id -u)" -ne 0 ]; then
	echo "test.sh: the tests create network namespaces and need root: sudo env \"PATH=\$PATH\" ./test.sh" >&2
	exit 2
fi
need=()
command -v ip >/dev/null || need+=(iproute2)
command -v tmux >/dev/null || need+=(tmux)
command -v nix-instantiate >/dev/null || need+=(nix-bin)
# The networkd export is applied by the real systemd-networkd in a namespace.
[ -x /usr/lib/systemd/systemd-networkd ] || need+=(systemd)
command -v ping >/dev/null || need+=(iputils-ping)
# A real sshd, ssh client and sudo for the SSH session test.
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
command -v sudo >/dev/null || need+=(sudo)
# doas, screen and script(1) for the ways the SSH session is found
# without $SSH_CONNECTION.
command -v doas >/dev/null || need+=(doas)
command -v screen >/dev/null || need+=(screen)
command -v script >/dev/null || need+=(bsdutils)
# ansible-core alone: its recommended "ansible" brings 250 MB of collections
# the tests of contrib/ansible do not use.
lean=()
command -v ansible-playbook >/dev/null || lean+=(ansible-core)
if [ ${#need[@]} -gt 0 ] || [ ${#lean[@]} -gt 0 ]; then
	echo "test.sh: installing ${need[*]} ${lean[*]}" >&2
	apt-get update -qq
	[ ${#need[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
	[ ${#lean[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${lean[@]}" >/dev/null
fi

set -x
gofmt_out=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$gofmt_out" ]; then
	echo "gofmt would change: $gofmt_out" >&2
	exit 1
fi
go vet ./...
# The snapshot file format, the exports, the model and planner, the lookup
# simulator and the SSH session finder build on any OS (the store and the
# engine need Linux's lock and trusted directory, the kernel code netlink):
# keep it so.
darwin=(./snapshots/format ./snapshots/export ./netcfg ./netcfg/lookup ./internal/sshsession)
GOOS=darwin go build "${darwin[@]}"
GOOS=darwin go vet "${darwin[@]}"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
go test -race -count=1 -timeout 15m ./...
# The engine's core tests run on the in-memory kernel and need no root:
# run them as nobody too, so that stays true.
unpriv=$(mktemp -d)
trap 'rm -rf "$unpriv"' EXIT
chmod 755 "$unpriv"
for pkg in snapshots netcfg internal/memkernel; do
	go test -c -o "$unpriv/$(basename $pkg).test" ./$pkg/
done
(
	cd "$unpriv"
	asnobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	"${asnobody[@]}" ./snapshots.test -test.run '^TestMem' -test.count=1 -mem.walks=1 -mem.steps=50
	"${asnobody[@]}" ./netcfg.test -test.run '^TestApplyMem' -test.count=1
	"${asnobody[@]}" ./memkernel.test -test.run '^(TestFaultsAndWindows|TestForeignBetweenCalls|TestUnmodelledRefused)$' -test.count=1
)
# A short bounded fuzz of every kernel-message decoder (the seed corpus is
# in netcfg/kernel/testdata/fuzz; run one longer by hand with -fuzztime 10m).
# NOTE: the budget is a count, not a duration: Go 1.26's fuzz coordinator
# can report a bare "context deadline exceeded" failure when a duration
# runs out while a worker is mid-call on a loaded machine (golang/go#75804,
# fixed in Go 1.27). A count has no deadline to race; a real finding still
# fails and writes its input under netcfg/kernel/testdata/fuzz.
for target in FuzzDecodeRoute FuzzDecodeRule FuzzDecodeMultipath FuzzDecodeLink FuzzDecodeAddr FuzzParseErr FuzzEachMsg; do
	go test -run '^$' -fuzz "^${target}\$" -fuzztime 60000x ./netcfg/kernel/
done
