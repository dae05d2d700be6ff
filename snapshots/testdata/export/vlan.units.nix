# NixOS module written by nictab 0.2.0.
# From snapshot 20250303T120000Z-0100 (2025-03-01T10:15:00Z) of host router, saved by nictab 0.1.0.
# Comment: VLANs to their own tables
#
# Import it from configuration.nix:  imports = [ ./nictab.nix ];
# Flavour: systemd-networkd, layout of NixOS 25.11 (flat rule and route sections, NixOS 24.11 and later).
# It assumes networkd manages these NICs (networking.useNetworkd = true
# or systemd.network.enable = true).
#
# Each NIC's rules and routes go on a networkd unit named "10-" and the NIC's
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
    vlan100 = 100;
    vlan200 = 200;
  };

  systemd.network.networks."10-eth0.100" = {
    matchConfig.Name = "eth0.100";
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
      { Gateway = "10.100.0.1"; Table = 100; }
    ];
  };

  systemd.network.networks."20-lan" = {
    matchConfig.Name = "eth0.200";
    routingPolicyRules = [
      { Family = "ipv4"; IncomingInterface = "eth0.200"; Table = 200; Priority = 1010; }
    ];
    routes = [
      { Destination = "10.200.0.0/24"; Table = 200; Scope = "link"; PreferredSource = "10.200.0.2"; }
      { Gateway = "10.200.0.1"; Table = 200; }
    ];
  };
}
