# NixOS module written by nictab 0.2.0.
# From snapshot 20250303T120000Z-0100 (2025-03-01T10:15:00Z) of host router, saved by nictab 0.1.0.
# Comment: VLANs to their own tables
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
  networking.iproute2.rttablesExtraConfig = "100 vlan100\n200 vlan200";

  networking.interfaces."eth0.100".ipv4.routes = [
    { address = "10.100.0.0"; prefixLength = 24; options = { scope = "link"; src = "10.100.0.2"; table = "100"; }; }
    { address = "0.0.0.0"; prefixLength = 0; via = "10.100.0.1"; options = { table = "100"; }; }
  ];

  networking.interfaces."eth0.200".ipv4.routes = [
    { address = "10.200.0.0"; prefixLength = 24; options = { scope = "link"; src = "10.200.0.2"; table = "200"; }; }
    { address = "0.0.0.0"; prefixLength = 0; via = "10.200.0.1"; options = { table = "200"; }; }
  ];

  networking.localCommands =
    "ip route replace blackhole 10.99.0.0/16 table 100 proto 4 scope global\n"
    + "while ip rule del from 10.100.0.2 lookup 100 proto 4 pref 1000 2>/dev/null; do :; done\n"
    + "ip rule add from 10.100.0.2 lookup 100 proto 4 pref 1000\n"
    + "while ip rule del from all oif eth0.100 lookup 100 proto 4 pref 1000 2>/dev/null; do :; done\n"
    + "ip rule add from all oif eth0.100 lookup 100 proto 4 pref 1000\n"
    + "while ip rule del from all fwmark 0xc8 lookup 200 proto 4 pref 1010 2>/dev/null; do :; done\n"
    + "ip rule add from all fwmark 0xc8 lookup 200 proto 4 pref 1010\n"
    + "while ip rule del from all iif eth0.200 lookup 200 proto 4 pref 1010 2>/dev/null; do :; done\n"
    + "ip rule add from all iif eth0.200 lookup 200 proto 4 pref 1010\n";
}
