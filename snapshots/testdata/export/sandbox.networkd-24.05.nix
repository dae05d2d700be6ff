# NixOS module written by nictab 0.2.0.
# From snapshot 20250301T101500Z-4f2a (2025-03-01T10:15:00Z) of host homeserver, saved by nictab 0.1.0.
# Comment: openvpn NIC to its own table
#
# Import it from configuration.nix:  imports = [ ./nictab.nix ];
# Flavour: systemd-networkd, layout of NixOS 24.05 (rules and routes wrapped in routingPolicyRuleConfig and routeConfig, NixOS 24.05 and earlier).
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
    vpn = 13;
    lan = 14;
  };

  systemd.network.networks."40-eno1" = {
    matchConfig.Name = "eno1";
    routingPolicyRules = [
      { routingPolicyRuleConfig = { From = "192.168.10.2/32"; Table = 13; Priority = 1000; }; }
      { routingPolicyRuleConfig = { From = "2001:db8:10::2/128"; Table = 13; Priority = 1000; }; }
    ];
    routes = [
      { routeConfig = { Destination = "192.168.10.0/24"; Table = 13; Scope = "link"; PreferredSource = "192.168.10.2"; }; }
      { routeConfig = { Gateway = "192.168.10.1"; Table = 13; }; }
      { routeConfig = { Destination = "2001:db8:10::/64"; Table = 13; PreferredSource = "2001:db8:10::2"; }; }
      { routeConfig = { Gateway = "2001:db8:10::1"; Table = 13; }; }
    ];
  };

  systemd.network.networks."40-enp2s0" = {
    matchConfig.Name = "enp2s0";
    routingPolicyRules = [
      { routingPolicyRuleConfig = { From = "192.168.20.2/32"; Table = 14; Priority = 1010; }; }
      { routingPolicyRuleConfig = { From = "2001:db8:20::2/128"; Table = 14; Priority = 1010; }; }
    ];
    routes = [
      { routeConfig = { Destination = "192.168.20.0/24"; Table = 14; Scope = "link"; PreferredSource = "192.168.20.2"; }; }
      { routeConfig = { Gateway = "192.168.20.1"; Table = 14; }; }
      { routeConfig = { Destination = "2001:db8:20::/64"; Table = 14; PreferredSource = "2001:db8:20::2"; }; }
      { routeConfig = { Gateway = "2001:db8:20::1"; Table = 14; }; }
    ];
  };
}
