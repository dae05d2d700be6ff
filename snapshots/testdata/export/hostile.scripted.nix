# NixOS module written by nictab 0.2.0.
# From snapshot id"${builtins.abort "x"} (2025-03-01T10:15:00Z) of host evil\n${builtins.abort \"x\"}\n$(reboot), saved by nictab 0.1\\\"; abort.
# Comment: line one\n{ ... }: builtins.abort \"x\" # \\ ${builtins.abort \"x\"}\r
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
#
# The routes of $(reboot), a\\b'c, eth"0, nl\nx are commands in
# networking.localCommands too: the classic module puts interface names into
# shell scripts and unit names unescaped, so only names of letters, digits,
# '.', '_' and '-' are safe there.
{ ... }:

{
  networking.iproute2.enable = true;
  networking.iproute2.rttablesExtraConfig = "13 \${builtins.abort\"x\"}\n14 a\"b\\c\n15 \$(reboot)";

  networking.localCommands =
    "ip route replace 192.168.10.0/24 dev 'eth\"0' table 13 proto 4 scope link src 192.168.10.2\n"
    + "ip route replace default via 192.168.10.1 dev 'eth\"0' table 13 proto 4 scope global\n"
    + "ip route replace 192.168.30.0/24 dev '\$(reboot)' table 15 proto 4 scope link src 192.168.30.2\n"
    + "ip route replace 192.168.40.0/24 dev 'nl\nx' table 15 proto 4 scope link src 192.168.40.2\n"
    + "ip route replace default via 192.168.40.1 dev 'nl\nx' table 15 proto 4 scope global\n"
    + "ip -6 route replace 2001:db8:20::/64 dev 'a\\b'\\''c' table 14 proto 4 src 2001:db8:20::2 metric 1024\n"
    + "ip -6 route replace default via 2001:db8:20::1 dev 'a\\b'\\''c' table 14 proto 4 metric 1024\n"
    + "while ip rule del from 192.168.10.2 lookup 13 proto 4 pref 1000 2>/dev/null; do :; done\n"
    + "ip rule add from 192.168.10.2 lookup 13 proto 4 pref 1000\n"
    + "while ip -6 rule del from all oif 'a\\b'\\''c' lookup 14 proto 4 pref 1010 2>/dev/null; do :; done\n"
    + "ip -6 rule add from all oif 'a\\b'\\''c' lookup 14 proto 4 pref 1010\n"
    + "while ip rule del from 192.168.30.2 lookup 15 proto 4 pref 1020 2>/dev/null; do :; done\n"
    + "ip rule add from 192.168.30.2 lookup 15 proto 4 pref 1020\n"
    + "while ip rule del from 192.168.40.2 lookup 15 proto 4 pref 1030 2>/dev/null; do :; done\n"
    + "ip rule add from 192.168.40.2 lookup 15 proto 4 pref 1030\n";
}
