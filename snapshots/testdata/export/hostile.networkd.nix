# NixOS module written by nictab 0.2.0.
# From snapshot id"${builtins.abort "x"} (2025-03-01T10:15:00Z) of host evil\n${builtins.abort \"x\"}\n$(reboot), saved by nictab 0.1\\\"; abort.
# Comment: line one\n{ ... }: builtins.abort \"x\" # \\ ${builtins.abort \"x\"}\r
#
# Import it from configuration.nix:  imports = [ ./nictab.nix ];
# Flavour: systemd-networkd, layout of NixOS 25.11 (flat rule and route sections, NixOS 24.11 and later).
# It assumes networkd manages these NICs (networking.useNetworkd = true
# or systemd.network.enable = true).
#
# Each NIC's rules and routes go on a networkd unit named "40-" and the NIC's
# name (unless --unit named it), so they merge with what the configuration
# already says for that NIC: under networking.useNetworkd, NixOS names a NIC's
# unit "40-" and its name. networkd applies only the first .network unit, in
# name order, that matches a NIC, so a unit of another name would be ignored:
# if the configuration names its units otherwise, export again with
# --unit-prefix PREFIX or --unit NIC=UNIT.
#
# networkd deletes routing policy rules it did not create whenever it
# configures a link, unless ManageForeignRoutingPolicyRules is off. This
# module turns it off, so rules nictab or anyone else adds live survive the
# next link change. networkd installs the rules and routes below with its own
# protocol (static), so nictab shows them as not its own.
{ ... }:

{
  systemd.network.config.networkConfig.ManageForeignRoutingPolicyRules = false;

  systemd.network.config.routeTables = {
    "\$(reboot)" = 13;
    "\${toString.x}" = 14;
  };

  systemd.network.networks."40-\$(reboot)" = {
    matchConfig.Name = "\$(reboot)";
    routingPolicyRules = [
      { From = "192.168.10.2/32"; Table = 13; Priority = 1000; }
    ];
    routes = [
      { Destination = "192.168.10.0/24"; Table = 13; Scope = "link"; PreferredSource = "192.168.10.2"; }
      { Gateway = "192.168.10.1"; Table = 13; }
    ];
  };

  systemd.network.networks."40-\${x}" = {
    matchConfig.Name = "\${x}";
    routingPolicyRules = [
      { From = "2001:db8:20::2/128"; Table = 14; Priority = 1010; }
      { Family = "ipv6"; IncomingInterface = "\${x}"; Table = 14; Priority = 1010; }
    ];
    routes = [
      { Destination = "2001:db8:20::/64"; Table = 14; PreferredSource = "2001:db8:20::2"; }
      { Gateway = "2001:db8:20::1"; Table = 14; }
    ];
  };
}
