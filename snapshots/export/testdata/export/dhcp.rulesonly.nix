# NixOS module written by nictab 0.2.0.
# From snapshot 20250304T090000Z-d4c9 (2025-03-01T10:15:00Z) of host laptop, saved by nictab 0.1.0.
# Comment: DHCP NIC to its own table
#
# Import it from configuration.nix:  imports = [ ./nictab.nix ];
# Flavour: systemd-networkd, layout of NixOS 25.11 (flat rule and route sections, NixOS 24.11 and later).
#
# It enables systemd-networkd (systemd.network.enable, with lib.mkDefault so
# the configuration's own choice wins): the rules, the routes and the table
# names, which NixOS puts in rt_tables through networkd's routeTables, take
# effect only under networkd. On a host that keeps classic networking,
# networkd then configures these NICs beside it; the scripted flavour
# (--flavor scripted) suits such a host.
#
# Units: rules and routes only, on the units "40-" and the NIC's name
# (--rules-routes-only): the configuration must give each NIC its addresses on
# a unit of exactly that name, or networkd, which applies only the first unit
# that matches a NIC, leaves the NIC without an address. Without
# --rules-routes-only the export carries the addressing nictab saw.
#
# networkd deletes routing policy rules it did not create whenever it
# configures a link, unless ManageForeignRoutingPolicyRules is off. This
# module turns it off, so rules nictab or anyone else adds live survive the
# next link change. networkd installs the rules and routes below with its own
# protocol (static), so nictab shows them as not its own.
{ lib, ... }:

{
  systemd.network.enable = lib.mkDefault true;
  systemd.network.config.networkConfig.ManageForeignRoutingPolicyRules = false;

  systemd.network.config.routeTables = {
    wifi = 50;
    wired = 60;
  };

  systemd.network.networks."40-eth1" = {
    matchConfig.Name = "eth1";
    routingPolicyRules = [
      # Tied to no NIC; this unit carries it (--rules-nic picks another).
      { Family = "ipv4"; FirewallMark = 60; Table = 60; Priority = 1010; }
    ];
    routes = [
      { Destination = "10.60.0.0/24"; Table = 60; Scope = "link"; PreferredSource = "10.60.0.2"; }
      # Tied to no NIC; this unit carries it (--rules-nic picks another).
      { Type = "blackhole"; Destination = "10.77.0.0/16"; Table = 60; }
      { Gateway = "10.60.0.1"; GatewayOnLink = false; Table = 60; }
    ];
  };

  systemd.network.networks."40-wlan0" = {
    matchConfig.Name = "wlan0";
    routingPolicyRules = [
      { From = "192.168.50.23/32"; Table = 50; Priority = 1000; }
      { From = "2001:db8:60:0:5a1:2ff:fe03:405/128"; Table = 50; Priority = 1000; }
      { From = "2001:db8:60::77/128"; Table = 50; Priority = 1000; }
    ];
    routes = [
      { Destination = "192.168.50.0/24"; Table = 50; Scope = "link"; PreferredSource = "192.168.50.23"; }
      { Gateway = "192.168.50.1"; GatewayOnLink = false; Table = 50; }
      { Destination = "2001:db8:60::/64"; Table = 50; PreferredSource = "2001:db8:60:0:5a1:2ff:fe03:405"; }
      { Gateway = "2001:db8:60::1"; GatewayOnLink = false; Table = 50; }
    ];
  };
}
