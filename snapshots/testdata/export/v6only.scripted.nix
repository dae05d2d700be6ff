# NixOS module written by nictab 0.2.0.
# From snapshot 20250302T080000Z-6b01 (2025-03-01T10:15:00Z) of host v6host, saved by nictab 0.1.0.
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
  networking.iproute2.rttablesExtraConfig = "30 v6only";

  networking.interfaces.enp3s0.ipv6.routes = [
    { address = "2001:db8:30::"; prefixLength = 64; options = { src = "2001:db8:30::2"; table = "30"; }; }
    { address = "::"; prefixLength = 0; via = "2001:db8:30::1"; options = { table = "30"; }; }
  ];

  networking.localCommands =
    "while ip -6 rule del from 2001:db8:30::2 lookup 30 proto 4 pref 1000 2>/dev/null; do :; done\n"
    + "ip -6 rule add from 2001:db8:30::2 lookup 30 proto 4 pref 1000\n";
}
