# NixOS module written by nictab 0.2.0.
# From snapshot 20250301T101500Z-4f2a (2025-03-01T10:15:00Z) of host homeserver, saved by nictab 0.1.0.
# Comment: openvpn NIC to its own table
#
# Import it from configuration.nix:  imports = [ ./nictab.nix ];
# Flavour: classic NixOS networking (networking.interfaces, scripted).
#
# Routes go in networking.interfaces.NIC.ipv4.routes and ipv6.routes. The
# classic module has no option for rules, so they are commands in
# networking.localCommands, each deleted before it is added so a rebuild does
# not stack copies; a rule left out of a later export stays until reboot or
# until deleted by hand. NixOS installs all of it with protocol static, so
# nictab shows it as not its own. systemd-networkd (--flavor networkd) has
# options for rules and keeps them across link changes.
{ ... }:

{
  networking.iproute2.enable = true;
  networking.iproute2.rttablesExtraConfig = "13 vpn\n14 lan";

  networking.interfaces.eno1.ipv4.routes = [
    { address = "192.168.10.0"; prefixLength = 24; options = { scope = "link"; src = "192.168.10.2"; table = "13"; }; }
    { address = "0.0.0.0"; prefixLength = 0; via = "192.168.10.1"; options = { table = "13"; }; }
  ];

  networking.interfaces.eno1.ipv6.routes = [
    { address = "2001:db8:10::"; prefixLength = 64; options = { src = "2001:db8:10::2"; table = "13"; }; }
    { address = "::"; prefixLength = 0; via = "2001:db8:10::1"; options = { table = "13"; }; }
  ];

  networking.interfaces.enp2s0.ipv4.routes = [
    { address = "192.168.20.0"; prefixLength = 24; options = { scope = "link"; src = "192.168.20.2"; table = "14"; }; }
    { address = "0.0.0.0"; prefixLength = 0; via = "192.168.20.1"; options = { table = "14"; }; }
  ];

  networking.interfaces.enp2s0.ipv6.routes = [
    { address = "2001:db8:20::"; prefixLength = 64; options = { src = "2001:db8:20::2"; table = "14"; }; }
    { address = "::"; prefixLength = 0; via = "2001:db8:20::1"; options = { table = "14"; }; }
  ];

  networking.localCommands =
    "while ip rule del from 192.168.10.2 lookup 13 proto 4 pref 1000 2>/dev/null; do :; done\n"
    + "ip rule add from 192.168.10.2 lookup 13 proto 4 pref 1000\n"
    + "while ip -6 rule del from 2001:db8:10::2 lookup 13 proto 4 pref 1000 2>/dev/null; do :; done\n"
    + "ip -6 rule add from 2001:db8:10::2 lookup 13 proto 4 pref 1000\n"
    + "while ip rule del from 192.168.20.2 lookup 14 proto 4 pref 1010 2>/dev/null; do :; done\n"
    + "ip rule add from 192.168.20.2 lookup 14 proto 4 pref 1010\n"
    + "while ip -6 rule del from 2001:db8:20::2 lookup 14 proto 4 pref 1010 2>/dev/null; do :; done\n"
    + "ip -6 rule add from 2001:db8:20::2 lookup 14 proto 4 pref 1010\n";
}
