# NixOS module written by nictab 0.2.0.
# From snapshot 20250303T120000Z-0100 (2025-03-01T10:15:00Z) of host router, saved by nictab 0.1.0.
# Comment: VLANs to their own tables
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
# Units: each NIC gets the unit "10-" and its name (a name with characters a
# Nix store path cannot hold is written with '_' and a hash; [Match] Name= has
# the real one). The unit carries the NIC's addressing as nictab saw it when
# the snapshot was saved: fixed addresses as address, a dynamic IPv4 address
# as DHCP, dynamic IPv6 addresses as DHCPv6 or IPv6AcceptRA (router
# advertisements). Why: networkd applies only the first .network unit, in name
# order, that matches a NIC, so a unit with rules and routes only would take
# the NIC's address away on a host whose configuration does not define that
# very unit (a DHCP laptop, NixOS's default DHCP unit). Under
# networking.useNetworkd NixOS names a NIC's unit "40-" and its name too; the
# two then merge, and the addressing here is set with lib.mkDefault so what
# the configuration says wins. A NIC whose unit --unit names gets rules and
# routes only, merged into that unit. If the configuration owns the addresses
# on units of these names, export with --rules-routes-only; to merge into
# units of other names, --unit-prefix PREFIX or --unit NIC=UNIT.
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
    vlan100 = 100;
    vlan200 = 200;
  };

  systemd.network.networks."10-eth0.100" = {
    matchConfig.Name = "eth0.100";
    # Addressing of eth0.100 as nictab saw it: static 10.100.0.2/24.
    address = lib.mkDefault [ "10.100.0.2/24" ];
    routingPolicyRules = [
      { From = "10.100.0.2/32"; Table = 100; Priority = 1000; }
      { Family = "ipv4"; OutgoingInterface = "eth0.100"; Table = 100; Priority = 1000; }
      # Tied to no NIC; this unit carries it (--rules-nic picks another).
      { Family = "ipv4"; FirewallMark = 200; Table = 200; Priority = 1010; }
    ];
    routes = [
      # Tied to no NIC; this unit carries it (--rules-nic picks another).
      { Type = "blackhole"; Destination = "10.99.0.0/16"; Table = 100; }
      { Destination = "10.100.0.0/24"; Table = 100; Scope = "link"; PreferredSource = "10.100.0.2"; }
      { Gateway = "10.100.0.1"; GatewayOnLink = false; Table = 100; }
    ];
  };

  systemd.network.networks."20-lan" = {
    matchConfig.Name = "eth0.200";
    routingPolicyRules = [
      { Family = "ipv4"; IncomingInterface = "eth0.200"; Table = 200; Priority = 1010; }
    ];
    routes = [
      { Destination = "10.200.0.0/24"; Table = 200; Scope = "link"; PreferredSource = "10.200.0.2"; }
      { Gateway = "10.200.0.1"; GatewayOnLink = false; Table = 200; }
    ];
  };
}
