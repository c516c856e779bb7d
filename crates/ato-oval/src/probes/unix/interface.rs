//! `unix:interface_object` (OVAL 5.11): network interface addresses of the live host.
//!
//! One item per IPv4 or IPv6 address, as OpenSCAP builds them from `getifaddrs`: an interface
//! without an address has no item. Addresses come from one rtnetlink address dump (no ioctl);
//! the name is the IPv4 label (`eth0:1`) or the link name; `type`, `hardware_addr` and `flag`
//! come from `/sys/class/net/<name>/{type,address,flags,operstate}`:
//! - `type` is the `ARPHRD_*` name for Ethernet, FDDI, loopback, PPP, ProNET, SLIP and void,
//!   empty for any other (as OpenSCAP);
//! - `hardware_addr` is the first six bytes in upper case, zeros when there are fewer;
//! - `inet_addr` is the address, IPv6 with `/prefix`; `netmask` is dotted IPv4 and empty for
//!   IPv6; `broadcast_addr` the IPv4 broadcast address of a broadcast interface, else empty;
//! - `flag` lists the `IFF_*` names of `net/if.h` (NOARP spelt `NOAPP`, as OpenSCAP spells
//!   it); `RUNNING` is derived the way the kernel reports it (up, and operstate up or unknown).
//!
//! Offline root: `not collected`; an image has no configured interfaces, and its network
//! configuration files are not what this object asks about.

use std::net::{Ipv4Addr, Ipv6Addr};

use ato_content::oval::Datatype;
use ato_target::Target;
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketType};

use crate::item::{Collected, Item};
use crate::probes::{entity_error, ObjectRequest, ProbeContext};

/// `IFF_*` bits and the names OpenSCAP reports, in its order.
const FLAGS: &[(u32, &str)] = &[
    (0x1, "UP"),
    (0x2, "BROADCAST"),
    (0x4, "DEBUG"),
    (0x8, "LOOPBACK"),
    (0x10, "POINTOPOINT"),
    (0x20, "NOTRAILERS"),
    (0x40, "RUNNING"),
    (0x80, "NOAPP"),
    (0x100, "PROMISC"),
    (0x200, "ALLMULTI"),
    (0x400, "MASTER"),
    (0x800, "SLAVE"),
    (0x1000, "MULTICAST"),
    (0x2000, "PORTSEL"),
    (0x4000, "AUTOMEDIA"),
    (0x8000, "DYNAMIC"),
];

pub fn collect(req: &ObjectRequest<'_>, ctx: &ProbeContext<'_>) -> Collected {
    let Some(name) = req.entity("name") else {
        return Collected::error(format!("object `{}`: no `name` entity", req.id));
    };
    if ctx.target.is_offline() {
        return Collected::not_collected(format!(
            "object `{}`: an offline root has no configured network interfaces",
            req.id
        ));
    }
    let addresses = match dump_addresses() {
        Ok(a) => a,
        Err(e) => {
            return Collected::error(format!(
                "object `{}`: cannot list interface addresses over rtnetlink: {e}",
                req.id
            ));
        }
    };

    let mut items = Vec::new();
    for addr in addresses {
        let Some(link) = link_name(ctx.target, addr.index) else {
            continue;
        };
        let label = addr.label.clone().unwrap_or_else(|| link.clone());
        match name.matches(&label, ctx.regexes) {
            Ok(true) => items.push(item(ctx.target, &link, &label, &addr)),
            Ok(false) => {}
            Err(e) => return entity_error(req, "name", &e),
        }
    }
    Collected::items(items)
}

/// One address of the dump.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Address {
    index: u32,
    prefix: u8,
    /// The local address (IFA_LOCAL, else IFA_ADDRESS): 4 or 16 bytes.
    local: Vec<u8>,
    broadcast: Option<Vec<u8>>,
    label: Option<String>,
}

fn item(target: &Target, link: &str, label: &str, addr: &Address) -> Item {
    let sys = |f: &str| {
        target
            .read(&format!("/sys/class/net/{link}/{f}"), 4096)
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .unwrap_or_default()
    };
    let raw_flags = u32::from_str_radix(sys("flags").trim_start_matches("0x"), 16).unwrap_or(0);
    let operstate = sys("operstate");
    let mut flags = raw_flags & !0x40;
    if flags & 0x1 != 0 && matches!(operstate.as_str(), "up" | "unknown") {
        flags |= 0x40;
    }
    let arp_type = match sys("type").parse::<u32>().unwrap_or(u32::MAX) {
        1 => "ARPHRD_ETHER",
        774 => "ARPHRD_FDDI",
        772 => "ARPHRD_LOOPBACK",
        512 => "ARPHRD_PPP",
        4 => "ARPHRD_PRONET",
        256 => "ARPHRD_SLIP",
        0xFFFF => "ARPHRD_VOID",
        _ => "",
    };

    let mut item = Item::new("interface")
        .string("name", label)
        .string("type", arp_type);
    item.push(
        "hardware_addr",
        Datatype::String,
        hardware_addr(&sys("address")),
    );
    if let Ok(v4) = <[u8; 4]>::try_from(addr.local.as_slice()) {
        let mask = u32::MAX
            .checked_shl(32 - u32::from(addr.prefix.min(32)))
            .unwrap_or(0);
        let broadcast = match (&addr.broadcast, flags & 0x2 != 0) {
            (Some(b), true) => <[u8; 4]>::try_from(b.as_slice())
                .map(|b| Ipv4Addr::from(b).to_string())
                .unwrap_or_default(),
            _ => String::new(),
        };
        item.push(
            "inet_addr",
            Datatype::Ipv4Address,
            Ipv4Addr::from(v4).to_string(),
        );
        item.push("broadcast_addr", Datatype::Ipv4Address, broadcast);
        item.push(
            "netmask",
            Datatype::Ipv4Address,
            Ipv4Addr::from(mask).to_string(),
        );
    } else if let Ok(v6) = <[u8; 16]>::try_from(addr.local.as_slice()) {
        let text = format!("{}/{}", Ipv6Addr::from(v6), addr.prefix);
        item.push("inet_addr", Datatype::Ipv6Address, text);
        item.push("broadcast_addr", Datatype::Ipv6Address, "");
        item.push("netmask", Datatype::Ipv6Address, "");
    }
    for (bit, name) in FLAGS {
        if flags & bit != 0 {
            item.push("flag", Datatype::String, *name);
        }
    }
    item
}

/// `aa:bb:cc:dd:ee:ff` -> `AA:BB:CC:DD:EE:FF`, six bytes, zeros where missing.
fn hardware_addr(sys: &str) -> String {
    let mut bytes: Vec<u8> = sys
        .split(':')
        .filter_map(|b| u8::from_str_radix(b, 16).ok())
        .collect();
    bytes.resize(6, 0);
    bytes
        .iter()
        .take(6)
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The name of the link with `index`, from `/sys/class/net/*/ifindex`.
fn link_name(target: &Target, index: u32) -> Option<String> {
    let entries = target.read_dir("/sys/class/net").ok()?;
    entries.into_iter().map(|e| e.name).find(|n| {
        target
            .read(&format!("/sys/class/net/{n}/ifindex"), 64)
            .is_ok_and(|b| String::from_utf8_lossy(&b).trim().parse() == Ok(index))
    })
}

const NLMSG_DONE: u16 = 3;
const NLMSG_ERROR: u16 = 2;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_DUMP: u16 = 0x300;

/// Every address of every interface, in the kernel's dump order.
fn dump_addresses() -> Result<Vec<Address>, String> {
    let fd = rustix::net::socket(AddressFamily::NETLINK, SocketType::RAW, None)
        .map_err(|e| format!("socket: {e}"))?;
    // nlmsghdr (16 bytes) + ifaddrmsg (8 bytes), family AF_UNSPEC.
    let mut request = Vec::with_capacity(24);
    request.extend_from_slice(&24u32.to_ne_bytes());
    request.extend_from_slice(&RTM_GETADDR.to_ne_bytes());
    request.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    request.extend_from_slice(&1u32.to_ne_bytes());
    request.extend_from_slice(&0u32.to_ne_bytes());
    request.extend_from_slice(&[0u8; 8]);
    let kernel = rustix::net::netlink::SocketAddrNetlink::new(0, 0);
    rustix::net::sendto(&fd, &request, SendFlags::empty(), &kernel)
        .map_err(|e| format!("send: {e}"))?;

    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let (n, _) = rustix::net::recv(&fd, &mut buf[..], RecvFlags::empty())
            .map_err(|e| format!("receive: {e}"))?;
        if n == 0 {
            return Err("the kernel closed the socket".into());
        }
        let mut rest = &buf[..n.min(buf.len())];
        while rest.len() >= 16 {
            let len = u32_at(rest, 0) as usize;
            let kind = u16_at(rest, 4);
            if len < 16 || len > rest.len() {
                return Err("malformed netlink message".into());
            }
            match kind {
                NLMSG_DONE => return Ok(out),
                NLMSG_ERROR => {
                    let errno = rest
                        .get(16..20)
                        .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                    return Err(format!("netlink error {}", -errno));
                }
                RTM_NEWADDR => {
                    if let Some(a) = parse_address(&rest[16..len]) {
                        out.push(a);
                    }
                }
                _ => {}
            }
            rest = &rest[align(len).min(rest.len())..];
        }
    }
}

/// An `ifaddrmsg` and its attributes.
fn parse_address(msg: &[u8]) -> Option<Address> {
    if msg.len() < 8 {
        return None;
    }
    let (family, prefix, index) = (msg[0], msg[1], u32_at(msg, 4));
    if family != 2 && family != 10 {
        return None;
    }
    let (mut address, mut local, mut broadcast, mut label) = (None, None, None, None);
    let mut attrs = &msg[8..];
    while attrs.len() >= 4 {
        let len = usize::from(u16_at(attrs, 0));
        if len < 4 || len > attrs.len() {
            break;
        }
        let value = attrs[4..len].to_vec();
        match u16_at(attrs, 2) {
            1 => address = Some(value),
            2 => local = Some(value),
            3 => {
                let text = String::from_utf8_lossy(&value)
                    .trim_end_matches('\0')
                    .to_string();
                label = Some(text);
            }
            4 => broadcast = Some(value),
            _ => {}
        }
        attrs = &attrs[align(len).min(attrs.len())..];
    }
    let local = local.or(address)?;
    // glibc names IPv4 addresses by their label, IPv6 ones by the link.
    let label = if family == 2 { label } else { None };
    Some(Address {
        index,
        prefix,
        local,
        broadcast,
        label,
    })
}

fn align(len: usize) -> usize {
    (len + 3) & !3
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[cfg(test)]
mod tests {
    use ato_content::oval::{Family, Operation};

    use super::*;
    use crate::item::Flag;
    use crate::probes::{run_probe, RequestEntity};

    fn run(target: &Target, name: &str) -> Collected {
        run_probe(
            collect,
            target,
            (Family::Unix, "interface"),
            vec![RequestEntity::literal(
                "name",
                Operation::PatternMatch,
                name,
            )],
        )
    }

    #[test]
    fn offline_is_not_collected() {
        let dir = tempfile::tempdir().unwrap();
        let target = Target::offline(dir.path()).unwrap();
        assert_eq!(run(&target, "^wl.*$").flag, Flag::NotCollected);
    }

    #[test]
    fn parses_an_address_message() {
        // ifaddrmsg: AF_INET, /24, flags 0, scope 0, index 2; IFA_LOCAL, IFA_BROADCAST, IFA_LABEL.
        let mut msg = vec![2u8, 24, 0, 0];
        msg.extend_from_slice(&2u32.to_ne_bytes());
        for (kind, value) in [
            (2u16, vec![10, 0, 0, 5]),
            (4, vec![10, 0, 0, 255]),
            (3, b"eth0:1\0".to_vec()),
        ] {
            let len = 4 + value.len();
            msg.extend_from_slice(&(len as u16).to_ne_bytes());
            msg.extend_from_slice(&kind.to_ne_bytes());
            msg.extend_from_slice(&value);
            msg.resize(align(msg.len()), 0);
        }
        let a = parse_address(&msg).unwrap();
        assert_eq!(a.local, [10, 0, 0, 5]);
        assert_eq!(a.broadcast.as_deref(), Some(&[10u8, 0, 0, 255][..]));
        assert_eq!(a.label.as_deref(), Some("eth0:1"));
        assert_eq!(hardware_addr("52:54:00:ab:cd:ef"), "52:54:00:AB:CD:EF");
        assert_eq!(hardware_addr(""), "00:00:00:00:00:00");
    }

    #[test]
    fn live_loopback_has_an_item() {
        // Reads the kernel's address list and /sys only; skipped where netlink is unavailable.
        let target = Target::live().unwrap();
        let c = run(&target, "^lo$");
        if c.flag == Flag::Error {
            eprintln!("skipped: {:?}", c.messages);
            return;
        }
        let Some(item) = c.items.first() else { return };
        assert_eq!(item.fields[1].value, "ARPHRD_LOOPBACK");
        assert!(item.values("flag").any(|f| f == "LOOPBACK"));
    }
}
