//! A read-only D-Bus client for the live host's systemd (`org.freedesktop.systemd1`): the
//! properties of one unit, converted to OVAL item values as OpenSCAP 1.3.7 converts them.
//!
//! This is the only IPC ato does, and only on the live host: it connects to the local Unix
//! sockets the target names ([`ato_target::SystemdBus`]), the system bus and then systemd's
//! private socket, never to a socket inside an offline root. It calls `Manager.GetUnit`,
//! `Manager.LoadUnit` (which reads a unit file into the manager and starts nothing) and
//! `org.freedesktop.DBus.Properties.GetAll` on `org.freedesktop.systemd1.Unit`; nothing that
//! changes what runs.
//!
//! One connection per scan, made on first use and shared. Connecting, and every call, waits at
//! most the target's timeout; once a call has failed on the connection itself (a timeout, a
//! closed socket), the connection is not used again, so a hung systemd costs one timeout and
//! not one per unit.

use std::collections::BTreeMap;
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::Duration;

use ato_target::SystemdBus;
use zbus::blocking::connection::Builder;
use zbus::blocking::Connection;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

const DESTINATION: &str = "org.freedesktop.systemd1";
const MANAGER_PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";
const UNIT: &str = "org.freedesktop.systemd1.Unit";
const PROPERTIES: &str = "org.freedesktop.DBus.Properties";
const NO_SUCH_UNIT: &str = "org.freedesktop.systemd1.NoSuchUnit";

/// A unit's properties by name. A property listed without values gets an item without a
/// `value` entity (a structure: OpenSCAP has no text for it); one not listed gets no item (an
/// empty array, as OpenSCAP reports nothing for it).
pub type Properties = BTreeMap<String, Vec<String>>;

/// The connection to the live host's systemd, or why there is none.
pub struct Systemd {
    conn: Result<Connection, String>,
    /// Why the connection is no longer used, once a call on it failed.
    broken: Mutex<Option<String>>,
}

impl Systemd {
    /// Connects to systemd's private socket, else to the system bus. Never fails: a failure is
    /// kept and returned by every later call.
    pub fn connect(bus: &SystemdBus) -> Systemd {
        // The system bus first: on systemd's private socket the replies carry the sender
        // `org.freedesktop.systemd1` (systemd patches it in), which zbus refuses to read, as
        // a scan of a real systemd 245 showed. The private socket is for hosts without a bus,
        // and is used only if a first call on it can be read.
        let conn = match connect_to(&bus.system_bus, false, bus.timeout) {
            Ok(conn) => Ok(conn),
            Err(system_error) => connect_to(&bus.private_socket, true, bus.timeout)
                .and_then(|conn| {
                    ping(&conn)
                        .map(|()| conn)
                        .map_err(|e| format!("`{}`: {e}", bus.private_socket.display()))
                })
                .map_err(|private_error| format!("{system_error}; {private_error}")),
        };
        match &conn {
            Ok(_) => tracing::debug!("systemd: connected over D-Bus"),
            Err(e) => tracing::debug!("systemd: no D-Bus connection: {e}"),
        }
        Systemd {
            conn,
            broken: Mutex::new(None),
        }
    }

    /// The properties of the unit `name` on `org.freedesktop.systemd1.Unit`, or `None` when
    /// systemd has no such unit. A unit systemd has not loaded is loaded first when `load` is
    /// set (the caller found its unit file); otherwise it is taken as unknown.
    ///
    /// # Errors
    ///
    /// Why systemd could not be asked: no connection, a timeout, an error reply.
    pub fn unit(&self, name: &str, load: bool) -> Result<Option<Properties>, String> {
        let conn = self.usable()?;
        let path = match self.object_path(conn, "GetUnit", name) {
            Ok(Some(path)) => path,
            Ok(None) if load => match self.object_path(conn, "LoadUnit", name)? {
                Some(path) => path,
                None => return Ok(None),
            },
            Ok(None) => return Ok(None),
            Err(e) => return Err(e),
        };

        let reply = conn
            .call_method(
                Some(DESTINATION),
                path.as_str(),
                Some(PROPERTIES),
                "GetAll",
                &(UNIT,),
            )
            .map_err(|e| self.failed(&format!("GetAll on `{}`", path.as_str()), e))?;
        let all: BTreeMap<String, OwnedValue> = reply
            .body()
            .deserialize()
            .map_err(|e| format!("GetAll on `{}`: unexpected reply: {e}", path.as_str()))?;
        Ok(Some(
            all.iter()
                .filter_map(|(name, value)| Some((name.clone(), property_values(value)?)))
                .collect(),
        ))
    }

    fn usable(&self) -> Result<&Connection, String> {
        if let Some(reason) = lock(&self.broken).as_ref() {
            return Err(reason.clone());
        }
        self.conn.as_ref().map_err(Clone::clone)
    }

    /// `GetUnit` or `LoadUnit`: the unit's object path, `None` for systemd's `NoSuchUnit`.
    fn object_path(
        &self,
        conn: &Connection,
        method: &str,
        name: &str,
    ) -> Result<Option<OwnedObjectPath>, String> {
        let what = format!("{method} `{name}`");
        match conn.call_method(
            Some(DESTINATION),
            MANAGER_PATH,
            Some(MANAGER),
            method,
            &(name,),
        ) {
            Ok(reply) => reply
                .body()
                .deserialize()
                .map(Some)
                .map_err(|e| format!("{what}: unexpected reply: {e}")),
            Err(zbus::Error::MethodError(error, _, _)) if error.as_str() == NO_SUCH_UNIT => {
                Ok(None)
            }
            Err(e) => Err(self.failed(&what, e)),
        }
    }

    /// The message for a failed call. A failure of the connection, or a reply saying systemd is
    /// not there, retires the connection.
    fn failed(&self, what: &str, error: zbus::Error) -> String {
        let message = match &error {
            zbus::Error::MethodError(name, Some(detail), _) => {
                format!("{what}: {}: {detail}", name.as_str())
            }
            zbus::Error::MethodError(name, None, _) => format!("{what}: {}", name.as_str()),
            zbus::Error::InputOutput(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                format!("{what}: no answer from systemd within the timeout")
            }
            other => format!("{what}: {other}"),
        };
        let retire = match &error {
            zbus::Error::MethodError(name, _, _) => BUS_FAILURES.contains(&name.as_str()),
            _ => true,
        };
        if retire {
            *lock(&self.broken) = Some(message.clone());
        }
        message
    }
}

/// Error replies that say systemd is not there to answer at all, rather than that one unit
/// could not be read: the connection is not used again after one.
const BUS_FAILURES: &[&str] = &[
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
    "org.freedesktop.DBus.Error.NoReply",
    "org.freedesktop.DBus.Error.Disconnected",
    "org.freedesktop.DBus.Error.TimedOut",
    "org.freedesktop.DBus.Error.LimitsExceeded",
];

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Connects to the socket `path` and authenticates; `p2p` for systemd's private socket, which
/// has no bus daemon behind it. Gives up after `timeout`: the handshake runs on a thread of its
/// own, and a server that never answers gets its socket shut down, which ends that thread.
/// A first call, `org.freedesktop.DBus.Peer.Ping` on the manager's object, whose reply must
/// be readable.
fn ping(conn: &Connection) -> Result<(), String> {
    conn.call_method(
        Some(DESTINATION),
        MANAGER_PATH,
        Some("org.freedesktop.DBus.Peer"),
        "Ping",
        &(),
    )
    .map(|_| ())
    .map_err(|e| format!("the first call failed: {e}"))
}

fn connect_to(path: &Path, p2p: bool, timeout: Duration) -> Result<Connection, String> {
    let shown = path.display().to_string();
    let stream = Arc::new(Mutex::new(None::<UnixStream>));
    let (send, receive) = mpsc::channel();
    let (path_owned, stream_kept) = (path.to_owned(), Arc::clone(&stream));
    let spawned = std::thread::Builder::new()
        .name("ato-systemd-connect".into())
        .spawn(move || {
            let result = (|| {
                let socket = UnixStream::connect(&path_owned).map_err(|e| e.to_string())?;
                if let Ok(copy) = socket.try_clone() {
                    *lock(&stream_kept) = Some(copy);
                }
                let mut builder = Builder::async_io_unix_stream(socket).method_timeout(timeout);
                if p2p {
                    builder = builder.p2p();
                }
                builder.build().map_err(|e| e.to_string())
            })();
            // The receiver is gone when the wait timed out; the connection is dropped then.
            let _ = send.send(result);
        });
    if let Err(e) = spawned {
        return Err(format!(
            "cannot connect to `{shown}`: cannot start a thread: {e}"
        ));
    }

    match receive.recv_timeout(timeout) {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(format!("cannot connect to `{shown}`: {e}")),
        Err(_) => {
            if let Some(socket) = lock(&stream).take() {
                let _ = socket.shutdown(Shutdown::Both);
            }
            Err(format!(
                "no answer on `{shown}` within {} ms",
                timeout.as_millis()
            ))
        }
    }
}

/// The values of a property, as OpenSCAP 1.3.7 gives them: an array is one value per element
/// (none at all when it is empty: no item); anything else is one value, or none when it has no
/// text form (a structure, a variant, a file descriptor: an item without a value).
fn property_values(value: &Value<'_>) -> Option<Vec<String>> {
    match value {
        Value::Array(array) => {
            let values: Vec<String> = array.iter().filter_map(element_text).collect();
            (!values.is_empty()).then_some(values)
        }
        // An array of dictionary entries, none of which has a text form.
        Value::Dict(_) => None,
        other => Some(basic_text(other).into_iter().collect()),
    }
}

/// An array element's text: a basic value, or a nested array's elements joined by `, `.
fn element_text(value: &Value<'_>) -> Option<String> {
    match value {
        Value::Array(array) => {
            let parts: Vec<String> = array.iter().filter_map(element_text).collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }
        other => basic_text(other),
    }
}

/// A basic value's text: strings, object paths and signatures as they are, booleans `true` or
/// `false`, integers in decimal (timestamps too: microseconds, not dates), doubles as C's
/// `%g`, a byte as the character it codes.
fn basic_text(value: &Value<'_>) -> Option<String> {
    Some(match value {
        Value::U8(b) => byte_text(*b),
        Value::Bool(b) => b.to_string(),
        Value::I16(n) => n.to_string(),
        Value::U16(n) => n.to_string(),
        Value::I32(n) => n.to_string(),
        Value::U32(n) => n.to_string(),
        Value::I64(n) => n.to_string(),
        Value::U64(n) => n.to_string(),
        Value::F64(x) => format_g(*x),
        Value::Str(s) => s.to_string(),
        Value::ObjectPath(p) => p.to_string(),
        Value::Signature(s) => s.to_string(),
        _ => return None,
    })
}

/// A byte as `%c` prints it, where XML can carry the character; any other byte as `\xNN`
/// (OpenSCAP writes the raw byte; systemd's only byte array on the Unit interface is the
/// random `InvocationID`).
fn byte_text(b: u8) -> String {
    if b == b' ' || b.is_ascii_graphic() {
        char::from(b).to_string()
    } else {
        format!("\\x{b:02x}")
    }
}

/// A double as C's `%g`: six significant digits, trailing zeros dropped, an exponent when it
/// is below -4 or at least 6.
fn format_g(x: f64) -> String {
    if x.is_nan() {
        return if x.is_sign_negative() { "-nan" } else { "nan" }.to_string();
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf" } else { "inf" }.to_string();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Rounded to six significant digits first, so that the exponent is the rounded one.
    let scientific = format!("{x:.5e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if !(-4..6).contains(&exponent) {
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!(
            "{}e{sign}{:02}",
            trim_fraction(mantissa),
            exponent.unsigned_abs()
        );
    }
    let decimals = usize::try_from(5 - exponent).unwrap_or(0);
    trim_fraction(&format!("{x:.decimals$}")).to_string()
}

fn trim_fraction(number: &str) -> &str {
    if number.contains('.') {
        number.trim_end_matches('0').trim_end_matches('.')
    } else {
        number
    }
}

/// An in-process systemd for tests: a peer-to-peer D-Bus server on a Unix socket with a Manager
/// (`GetUnit`, `LoadUnit`) and unit objects with the Unit interface's properties.
#[cfg(test)]
pub(crate) mod fake {
    use std::collections::BTreeMap;
    use std::os::unix::net::UnixListener;
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use zbus::blocking::connection::Builder;
    use zbus::zvariant::OwnedObjectPath;

    /// One unit as the fake systemd has it.
    #[derive(Clone, Debug)]
    pub struct FakeUnit {
        pub id: String,
        pub active_state: String,
        pub sub_state: String,
        pub load_state: String,
        pub unit_file_state: String,
        /// Loaded now (`GetUnit` finds it), or only on `LoadUnit`.
        pub loaded: bool,
    }

    impl FakeUnit {
        pub fn new(id: &str, active: &str, sub: &str) -> FakeUnit {
            FakeUnit {
                id: id.to_string(),
                active_state: active.to_string(),
                sub_state: sub.to_string(),
                load_state: "loaded".to_string(),
                unit_file_state: "enabled".to_string(),
                loaded: true,
            }
        }
    }

    /// How the fake systemd behaves.
    #[derive(Clone, Default)]
    pub struct Behaviour {
        /// Manager calls block this long before answering.
        pub stall: Option<Duration>,
    }

    /// The Manager calls the fake received, as `Method unit`.
    pub type Calls = Arc<Mutex<Vec<String>>>;

    #[derive(Debug, zbus::DBusError)]
    #[zbus(prefix = "org.freedesktop.systemd1")]
    enum SystemdError {
        #[zbus(error)]
        ZBus(zbus::Error),
        NoSuchUnit(String),
    }

    #[derive(Clone)]
    struct Manager {
        units: Arc<Mutex<BTreeMap<String, FakeUnit>>>,
        behaviour: Behaviour,
        calls: Calls,
    }

    impl Manager {
        fn find(
            &self,
            method: &str,
            name: &str,
            load: bool,
        ) -> Result<OwnedObjectPath, SystemdError> {
            self.calls.lock().unwrap().push(format!("{method} {name}"));
            if let Some(stall) = self.behaviour.stall {
                std::thread::sleep(stall);
            }
            let mut units = self.units.lock().unwrap();
            match units.get_mut(name) {
                Some(unit) if unit.loaded || load => {
                    unit.loaded = true;
                    Ok(OwnedObjectPath::try_from(unit_path(name)).unwrap())
                }
                _ => Err(SystemdError::NoSuchUnit(format!("Unit {name} not loaded."))),
            }
        }
    }

    #[zbus::interface(name = "org.freedesktop.systemd1.Manager")]
    impl Manager {
        fn get_unit(&self, name: &str) -> Result<OwnedObjectPath, SystemdError> {
            self.find("GetUnit", name, false)
        }

        fn load_unit(&self, name: &str) -> Result<OwnedObjectPath, SystemdError> {
            self.find("LoadUnit", name, true)
        }
    }

    struct Unit(FakeUnit);

    #[zbus::interface(name = "org.freedesktop.systemd1.Unit")]
    impl Unit {
        #[zbus(property, name = "Id")]
        fn id(&self) -> String {
            self.0.id.clone()
        }

        #[zbus(property, name = "Names")]
        fn names(&self) -> Vec<String> {
            vec![self.0.id.clone()]
        }

        #[zbus(property, name = "ActiveState")]
        fn active_state(&self) -> String {
            self.0.active_state.clone()
        }

        #[zbus(property, name = "SubState")]
        fn sub_state(&self) -> String {
            self.0.sub_state.clone()
        }

        #[zbus(property, name = "LoadState")]
        fn load_state(&self) -> String {
            self.0.load_state.clone()
        }

        #[zbus(property, name = "UnitFileState")]
        fn unit_file_state(&self) -> String {
            self.0.unit_file_state.clone()
        }

        #[zbus(property, name = "FreezerState")]
        fn freezer_state(&self) -> String {
            "running".to_string()
        }

        #[zbus(property, name = "CanStart")]
        fn can_start(&self) -> bool {
            true
        }

        #[zbus(property, name = "RefuseManualStop")]
        fn refuse_manual_stop(&self) -> bool {
            false
        }

        #[zbus(property, name = "ActiveEnterTimestamp")]
        fn active_enter_timestamp(&self) -> u64 {
            1_764_781_200_123_456
        }

        #[zbus(property, name = "StartLimitBurst")]
        fn start_limit_burst(&self) -> u32 {
            5
        }

        #[zbus(property, name = "Job")]
        fn job(&self) -> (u32, OwnedObjectPath) {
            (0, OwnedObjectPath::try_from("/").unwrap())
        }

        #[zbus(property, name = "Documentation")]
        fn documentation(&self) -> Vec<String> {
            Vec::new()
        }

        #[zbus(property, name = "Conditions")]
        fn conditions(&self) -> Vec<(String, bool, bool, String, i32)> {
            vec![("ConditionPathExists".into(), false, false, "/x".into(), 1)]
        }
    }

    /// systemd's object path of a unit: `_` and two hex digits for every byte but letters and
    /// digits.
    fn unit_path(name: &str) -> String {
        let mut path = String::from("/org/freedesktop/systemd1/unit/");
        for b in name.bytes() {
            if b.is_ascii_alphanumeric() {
                path.push(char::from(b));
            } else {
                path.push_str(&format!("_{b:02x}"));
            }
        }
        path
    }

    /// Serves `units` on a new socket in `dir`; returns the socket's path and the calls log.
    pub fn serve(dir: &Path, units: &[FakeUnit], behaviour: Behaviour) -> (PathBuf, Calls) {
        let socket = dir.join("systemd-private");
        let listener = UnixListener::bind(&socket).unwrap();
        let calls = Calls::default();
        let manager = Manager {
            units: Arc::new(Mutex::new(
                units.iter().map(|u| (u.id.clone(), u.clone())).collect(),
            )),
            behaviour,
            calls: Arc::clone(&calls),
        };
        std::thread::spawn(move || {
            let mut connections = Vec::new();
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let mut builder = Builder::async_io_unix_stream(stream)
                    .server(zbus::Guid::generate())
                    .unwrap()
                    .p2p()
                    .serve_at("/org/freedesktop/systemd1", manager.clone())
                    .unwrap();
                for unit in manager.units.lock().unwrap().values() {
                    builder = builder
                        .serve_at(unit_path(&unit.id), Unit(unit.clone()))
                        .unwrap();
                }
                // A client that gives up before the handshake ends is no reason to stop.
                if let Ok(conn) = builder.build() {
                    connections.push(conn);
                }
            }
        });
        (socket, calls)
    }

    /// A socket that accepts connections and never says a word.
    pub fn silent(dir: &Path) -> (PathBuf, UnixListener) {
        let socket = dir.join("systemd-silent");
        let listener = UnixListener::bind(&socket).unwrap();
        (socket, listener)
    }
}

#[cfg(test)]
mod tests {
    use zbus::zvariant::{ObjectPath, Structure};

    use super::*;

    #[test]
    fn values_convert_as_openscap_does() {
        let one = |v: Value<'_>| property_values(&v);
        assert_eq!(one(Value::from("active")), Some(vec!["active".to_string()]));
        assert_eq!(one(Value::from(true)), Some(vec!["true".to_string()]));
        assert_eq!(one(Value::from(false)), Some(vec!["false".to_string()]));
        assert_eq!(one(Value::from(5u32)), Some(vec!["5".to_string()]));
        assert_eq!(one(Value::from(-3i32)), Some(vec!["-3".to_string()]));
        assert_eq!(
            one(Value::from(1_764_781_200_123_456u64)),
            Some(vec!["1764781200123456".to_string()])
        );
        assert_eq!(
            one(Value::from(ObjectPath::try_from("/org/x").unwrap())),
            Some(vec!["/org/x".to_string()])
        );
        // One value per element; an empty array gives no item.
        assert_eq!(
            one(Value::from(vec!["a.service", "b.service"])),
            Some(vec!["a.service".to_string(), "b.service".to_string()])
        );
        assert_eq!(one(Value::from(Vec::<String>::new())), None);
        // A structure has no text: an item without a value.
        let job = Structure::from((0u32, ObjectPath::try_from("/").unwrap()));
        assert_eq!(one(Value::from(job)), Some(Vec::new()));
        // Structures in an array are skipped; nested arrays are joined.
        assert_eq!(one(Value::from(vec![("ConditionX", false)])), None);
        assert_eq!(
            one(Value::from(vec![vec!["a", "b"], vec!["c"]])),
            Some(vec!["a, b".to_string(), "c".to_string()])
        );
        assert_eq!(
            one(Value::from(vec![b'a', 0u8])),
            Some(vec!["a".to_string(), "\\x00".to_string()])
        );
    }

    #[test]
    fn doubles_print_as_percent_g() {
        let cases = [
            (0.0, "0"),
            (1.0, "1"),
            (0.5, "0.5"),
            (123_456.0, "123456"),
            (1_234_567.0, "1.23457e+06"),
            (0.000_1, "0.0001"),
            (0.000_012_5, "1.25e-05"),
            (-2.5, "-2.5"),
            (999_999.5, "1e+06"),
            (f64::INFINITY, "inf"),
        ];
        for (x, printed) in cases {
            assert_eq!(format_g(x), printed, "{x}");
        }
    }
}
