//! The daemon's socket protocol: each line of the input is one frame, read as the daemon reads
//! a request (the envelope, then the method's typed params) and as the client reads a response
//! (the envelope, then each method's typed result). A frame that decodes re-encodes to a frame
//! that decodes to the same thing. The daemon's dispatch itself (and the confinement check in
//! front of it) is private to the crate; this covers every decode it does.

use serde_json::Value;
use skillet_server::api::Method;
use skillet_server::api::method::{
    DaemonStatus, DaemonStop, SessionClose, SessionList, SessionLogs, SessionPipe, SessionSend,
    SessionStart,
};
use skillet_server::{Request, Response};

fn params<M: Method>(params: &Value) {
    if let Ok(typed) = serde_json::from_value::<M::Params>(params.clone()) {
        let again = serde_json::to_value(&typed).expect("params encode");
        serde_json::from_value::<M::Params>(again).expect("encoded params decode");
    }
}

fn result<M: Method>(result: &Value) {
    if let Ok(typed) = serde_json::from_value::<M::Result>(result.clone()) {
        let again = serde_json::to_value(&typed).expect("a result encodes");
        serde_json::from_value::<M::Result>(again).expect("an encoded result decodes");
    }
}

macro_rules! each_method {
    ($f:ident, $value:expr) => {{
        $f::<DaemonStatus>($value);
        $f::<DaemonStop>($value);
        $f::<SessionStart>($value);
        $f::<SessionSend>($value);
        $f::<SessionList>($value);
        $f::<SessionClose>($value);
        $f::<SessionLogs>($value);
        $f::<SessionPipe>($value);
    }};
}

pub fn run(data: &[u8]) {
    for line in data.split(|&b| b == b'\n') {
        // The daemon reads text lines; a line that is not UTF-8 ends the connection there.
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        if let Ok(request) = serde_json::from_str::<Request>(line) {
            let encoded = serde_json::to_string(&request).expect("a request encodes");
            let again: Request =
                serde_json::from_str(&encoded).expect("an encoded request decodes");
            assert_eq!(again.method, request.method);
            each_method!(params, &request.params);
        }
        if let Ok(response) = serde_json::from_str::<Response>(line) {
            let encoded = serde_json::to_string(&response).expect("a response encodes");
            let _: Response = serde_json::from_str(&encoded).expect("an encoded response decodes");
            if let Some(value) = &response.result {
                each_method!(result, value);
            }
        }
    }
}
