//! Which addresses a download may reach: a document from another machine may not lead skillet
//! to this machine or its private network (a hostile index redirecting to a cloud metadata
//! service, a router's admin page, a local daemon), whatever the address is spelled as.
//!
//! Decided by the address, never the spelling: names are resolved and every address the
//! connection could use is checked, at the redirect and again at connect time (the resolver
//! reqwest connects through), so a name that changes its answer in between is still caught.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};

use reqwest::Url;

/// How addresses are judged. Production code uses the default; only this crate's own tests
/// can make a loopback port count as a remote server (there is no environment variable or
/// configuration key for it, so neither a skill nor a workspace can).
#[derive(Debug, Clone, Default)]
pub(crate) struct AddressPolicy {
    /// Loopback ports that stand for a server on the internet in a test.
    #[cfg(test)]
    pub(crate) public_loopback_ports: Vec<u16>,
}

impl AddressPolicy {
    /// Whether `addr` is this machine or a private network.
    pub(crate) fn is_local(&self, addr: SocketAddr) -> bool {
        #[cfg(test)]
        if addr.ip().is_loopback() && self.public_loopback_ports.contains(&addr.port()) {
            return false;
        }
        is_local_ip(addr.ip())
    }
}

/// Loopback, link-local (cloud metadata at 169.254.169.254 included), private, shared (CGNAT),
/// unspecified and broadcast addresses, in IPv4 or any IPv6 form that carries one.
pub(crate) fn is_local_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_local_v4(v4),
        IpAddr::V6(v6) => is_local_v6(v6),
    }
}

fn is_local_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        // 0.0.0.0/8 is "this network", reaching this machine on Linux.
        || a == 0
        // 100.64.0.0/10, carrier-grade NAT and VPN overlays: someone's private network.
        || (a == 100 && (64..128).contains(&b))
}

fn is_local_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_local_v4(v4);
    }
    // The deprecated IPv4-compatible form (::a.b.c.d) and NAT64 (64:ff9b::/96) carry an IPv4
    // address a gateway may connect to.
    let seg = ip.segments();
    if seg[..6] == [0; 6] || seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let v4 = Ipv4Addr::new(
            (seg[6] >> 8) as u8,
            seg[6] as u8,
            (seg[7] >> 8) as u8,
            seg[7] as u8,
        );
        if is_local_v4(v4) {
            return true;
        }
    }
    ip.is_loopback()
        || ip.is_unspecified()
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local, deprecated but still routed privately
        || (first & 0xfe00) == 0xfc00 // unique local
}

/// Where a download may go, decided once from the URL the caller gave.
#[derive(Debug, Clone)]
pub(crate) enum Reach {
    /// The caller's own URL is on this machine or its network (a local index, a test
    /// server): whatever it redirects to is the user's own business.
    Anywhere,
    /// The URL is on the internet: nothing it leads to may be local.
    PublicOnly(AddressPolicy),
}

impl Reach {
    /// Judges the URL a download starts from: local when every address it names is local.
    pub(crate) fn of_origin(url: &Url, policy: &AddressPolicy) -> Reach {
        match addresses(url) {
            Ok(addrs) if !addrs.is_empty() && addrs.iter().all(|a| policy.is_local(*a)) => {
                Reach::Anywhere
            }
            _ => Reach::PublicOnly(policy.clone()),
        }
    }

    /// Why `url` (a redirect's target) may not be followed, if it may not.
    pub(crate) fn refuse(&self, url: &Url) -> Option<String> {
        let Reach::PublicOnly(policy) = self else {
            return None;
        };
        // A name that does not resolve now is left to the resolver at connect time.
        let addrs = addresses(url).ok()?;
        let local = addrs.into_iter().find(|a| policy.is_local(*a))?;
        Some(format!(
            "a redirect to {url} leads to {}, an address on this machine or its private network; a server on the internet may not send skillet there. If you run this server yourself, give its local address directly",
            local.ip()
        ))
    }
}

/// Every address `url`'s host stands for (an IP literal as parsed, whichever way it was
/// spelled, or a name as the system resolves it).
fn addresses(url: &Url) -> std::io::Result<Vec<SocketAddr>> {
    let port = url.port_or_known_default().unwrap_or(443);
    let Some(host) = url.host_str() else {
        return Ok(Vec::new());
    };
    // The parser has already turned every IP spelling (127.1, 2130706433, [::ffff:…]) into
    // its canonical text, which parses back here.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => Ok(vec![SocketAddr::new(ip, port)]),
        Err(_) => Ok((bare, port).to_socket_addrs()?.collect()),
    }
}

/// The resolver reqwest connects through when the origin is public: it refuses a name with
/// any local address, so neither a redirect nor a name that changed its answer since the
/// redirect was checked reaches one. The names of the user's proxies are let through (the
/// proxy resolves the real target, and a proxy on localhost is common).
pub(crate) struct PublicResolver {
    pub(crate) policy: AddressPolicy,
    pub(crate) proxies: Vec<String>,
    /// The last refusal, so the caller reports it instead of reqwest's "error sending request".
    pub(crate) refused: Arc<Mutex<Option<String>>>,
}

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_owned();
        let policy = self.policy.clone();
        let trusted = self.proxies.iter().any(|p| p.eq_ignore_ascii_case(&name));
        let refused = Arc::clone(&self.refused);
        Box::pin(async move {
            let lookup = name.clone();
            let addrs: Vec<SocketAddr> =
                tokio::task::spawn_blocking(move || (lookup.as_str(), 0).to_socket_addrs())
                    .await??
                    .collect();
            if !trusted && let Some(local) = addrs.iter().find(|a| policy.is_local(**a)) {
                let why = format!(
                    "{name} resolves to {}, an address on this machine or its private network; a server on the internet may not send skillet there",
                    local.ip()
                );
                if let Ok(mut slot) = refused.lock() {
                    *slot = Some(why.clone());
                }
                return Err(why.into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The host names of the proxies reqwest takes from the environment.
pub(crate) fn proxy_hosts() -> Vec<String> {
    [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ]
    .iter()
    .filter_map(|var| std::env::var(var).ok())
    .filter_map(|value| {
        let with_scheme = if value.contains("://") {
            value
        } else {
            format!("http://{value}")
        };
        Url::parse(&with_scheme)
            .ok()?
            .host_str()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
    })
    .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_local_form_is_local_and_public_ones_are_not() {
        for local in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(is_local_ip(local.parse().unwrap()), "{local}");
        }
        for public in [
            "93.184.216.34",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1",
            "::ffff:93.184.216.34",
        ] {
            assert!(!is_local_ip(public.parse().unwrap()), "{public}");
        }
    }

    /// Spellings the URL parser turns into a loopback address are judged by that address.
    #[test]
    fn other_spellings_of_loopback_are_judged_by_their_address() {
        let reach = Reach::PublicOnly(AddressPolicy::default());
        for spelled in [
            "https://127.1/x",
            "https://2130706433/x",
            "https://0x7f000001/x",
            "https://017700000001/x",
            "https://[::ffff:127.0.0.1]/x",
            "https://[0:0:0:0:0:ffff:7f00:1]/x",
            "https://localhost/x",
            "https://LOCALHOST/x",
        ] {
            let url = Url::parse(spelled).unwrap();
            let why = reach.refuse(&url).unwrap_or_else(|| panic!("{spelled}"));
            assert!(why.contains("this machine or its private network"), "{why}");
        }
    }

    #[test]
    fn the_resolver_refuses_a_name_with_a_local_address() {
        use reqwest::dns::Resolve;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let resolver = PublicResolver {
            policy: AddressPolicy::default(),
            proxies: Vec::new(),
            refused: Arc::default(),
        };
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let Err(e) = runtime.block_on(resolver.resolve(name)) else {
            panic!("localhost resolved for a public origin");
        };
        assert!(e.to_string().contains("localhost resolves to"), "{e}");
        assert!(resolver.refused.lock().unwrap().is_some());
        // The user's proxy on this machine stays usable.
        let resolver = PublicResolver {
            proxies: vec!["localhost".into()],
            ..resolver
        };
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        assert!(runtime.block_on(resolver.resolve(name)).is_ok());
    }
}
