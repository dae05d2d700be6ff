# NixOS module written by nictab 0.2.0.
# From snapshot 20250305T000000Z-0001 (2025-03-01T10:15:00Z) of host odd, saved by nictab 0.1.0.
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
# Units: rules and routes go on the units the configuration already defines
# for the NICs ("40-" and the NIC's name, or as --unit named them), so they
# merge with them, and the addressing stays with those units. networkd applies
# only the first .network unit, in name order, that matches a NIC: if no unit
# of that name configures the NIC, this one takes it over with no address.
# Check with networkctl status NIC ("Network File"); without --unit-prefix and
# --unit the export carries the addressing itself.
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
    odd = 70;
  };

  systemd.network.networks."40-a+b=c" = {
    matchConfig.Name = "a+b=c";
    routingPolicyRules = [
      { From = "192.168.70.2/32"; Table = 70; Priority = 1000; }
    ];
    routes = [
      { Destination = "192.168.70.0/24"; Table = 70; Scope = "link"; PreferredSource = "192.168.70.2"; }
      { Gateway = "192.168.70.1"; GatewayOnLink = false; Table = 70; }
    ];
  };

  systemd.network.networks."40-x.y" = {
    matchConfig.Name = "x.y";
    routingPolicyRules = [
      { From = "192.168.71.2/32"; Table = 70; Priority = 1010; }
    ];
    routes = [
      { Destination = "192.168.71.0/24"; Table = 70; Scope = "link"; PreferredSource = "192.168.71.2"; }
    ];
  };
}
