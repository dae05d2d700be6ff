# NixOS module written by nictab 0.2.0.
# From snapshot 20250301T101500Z-4f2a (2025-03-01T10:15:00Z) of host homeserver, saved by nictab 0.1.0.
# Comment: openvpn NIC to its own table
#
# Import it from configuration.nix:  imports = [ ./nictab.nix ];
# Flavour: classic NixOS networking (scripted).
#
# The routes and rules are installed by the service nictab-policy-routing,
# ordered after the units that add the NICs' addresses (network-addresses-NIC,
# dhcpcd), and it waits up to 60 s for every address a route uses as its
# source to be there and past duplicate address detection: routes with a
# source fail before that ("Invalid prefsrc address"). It does not use
# networking.interfaces.NIC.ipv4.routes: NixOS adds those right after the
# addresses, before a DHCP or SLAAC address exists, and deletes them on stop
# with `ip route del PREFIX dev NIC`, without a table, which deletes main's
# routes through the NIC. Its stop step deletes nothing; a route or rule left
# out of a later export stays until reboot or until deleted by hand. Running
# it again changes nothing: routes are replaced, and every copy of a rule is
# deleted before it is added.
#
# The host's configuration keeps the NICs' addresses
# (networking.interfaces.NIC.ipv4.addresses, DHCP). NixOS installs all of this
# with protocol static, so nictab shows it as not its own. systemd-networkd
# (--flavor networkd) has options for rules and keeps them across link
# changes.
{ pkgs, ... }:

{
  networking.iproute2.enable = true;
  networking.iproute2.rttablesExtraConfig = "13 vpn\n14 lan";

  systemd.services.nictab-policy-routing = {
    description = "Policy routing from nictab snapshot 20250301T101500Z-4f2a";
    wantedBy = [ "multi-user.target" ];
    before = [ "network-online.target" ];
    after = [ "network-setup.service" "network-local-commands.service" "dhcpcd.service" "network-addresses-eno1.service" "network-addresses-enp2s0.service" ];
    path = [ pkgs.iproute2 pkgs.coreutils ];
    serviceConfig.Type = "oneshot";
    serviceConfig.RemainAfterExit = true;
    script =
      "# Routes with a preferred source fail while their address is missing\n"
      + "# or in duplicate address detection; wait for each, 60 s in all.\n"
      + "deadline=\$(( \$(date +%s) + 60 ))\n"
      + "failed=0\n"
      + "nictab_wait() {\n"
      + "  while [ -z \"\$(ip -o addr show dev \"\$1\" to \"\$2\" -tentative -dadfailed 2>/dev/null)\" ]; do\n"
      + "    if [ \"\$(date +%s)\" -ge \"\$deadline\" ]; then\n"
      + "      echo \"nictab: address \$2 is not usable on \$1 after 60 s (missing, or still in duplicate address detection); routes that use it fail below\" >&2\n"
      + "      return 1\n"
      + "    fi\n"
      + "    sleep 0.2\n"
      + "  done\n"
      + "}\n"
      + "nictab_wait eno1 192.168.10.2 || failed=\$((failed + 1))\n"
      + "nictab_wait enp2s0 192.168.20.2 || failed=\$((failed + 1))\n"
      + "nictab_wait eno1 2001:db8:10::2 || failed=\$((failed + 1))\n"
      + "nictab_wait enp2s0 2001:db8:20::2 || failed=\$((failed + 1))\n"
      + "# Routes first: no rule may send traffic to a table still empty.\n"
      + "ip route replace 192.168.10.0/24 dev eno1 table 13 proto 4 scope link src 192.168.10.2 || failed=\$((failed + 1))\n"
      + "ip route replace default via 192.168.10.1 dev eno1 table 13 proto 4 scope global || failed=\$((failed + 1))\n"
      + "ip route replace 192.168.20.0/24 dev enp2s0 table 14 proto 4 scope link src 192.168.20.2 || failed=\$((failed + 1))\n"
      + "ip route replace default via 192.168.20.1 dev enp2s0 table 14 proto 4 scope global || failed=\$((failed + 1))\n"
      + "ip -6 route replace 2001:db8:10::/64 dev eno1 table 13 proto 4 src 2001:db8:10::2 metric 1024 || failed=\$((failed + 1))\n"
      + "ip -6 route replace default via 2001:db8:10::1 dev eno1 table 13 proto 4 metric 1024 || failed=\$((failed + 1))\n"
      + "ip -6 route replace 2001:db8:20::/64 dev enp2s0 table 14 proto 4 src 2001:db8:20::2 metric 1024 || failed=\$((failed + 1))\n"
      + "ip -6 route replace default via 2001:db8:20::1 dev enp2s0 table 14 proto 4 metric 1024 || failed=\$((failed + 1))\n"
      + "while ip rule del from 192.168.10.2 lookup 13 proto 4 pref 1000 2>/dev/null; do :; done\n"
      + "ip rule add from 192.168.10.2 lookup 13 proto 4 pref 1000 || failed=\$((failed + 1))\n"
      + "while ip -6 rule del from 2001:db8:10::2 lookup 13 proto 4 pref 1000 2>/dev/null; do :; done\n"
      + "ip -6 rule add from 2001:db8:10::2 lookup 13 proto 4 pref 1000 || failed=\$((failed + 1))\n"
      + "while ip rule del from 192.168.20.2 lookup 14 proto 4 pref 1010 2>/dev/null; do :; done\n"
      + "ip rule add from 192.168.20.2 lookup 14 proto 4 pref 1010 || failed=\$((failed + 1))\n"
      + "while ip -6 rule del from 2001:db8:20::2 lookup 14 proto 4 pref 1010 2>/dev/null; do :; done\n"
      + "ip -6 rule add from 2001:db8:20::2 lookup 14 proto 4 pref 1010 || failed=\$((failed + 1))\n"
      + "if [ \"\$failed\" -ne 0 ]; then\n"
      + "  echo \"nictab: \$failed of the waits, routes and rules above failed; the rest is in place\" >&2\n"
      + "  exit 1\n"
      + "fi\n";
  };
}
