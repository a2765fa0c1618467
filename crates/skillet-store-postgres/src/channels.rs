//! Named channels and their messages.

use skillet_store::{
    ChannelInfo, ChannelKey, ChannelLimits, ChannelMessage, ChannelSend, ChannelStore, StoreError,
};

use crate::{PostgresStore, not_yet};

impl ChannelStore for PostgresStore {
    fn send_message(
        &self,
        _k: &ChannelKey,
        _sender: &str,
        _body: &str,
        _l: &ChannelLimits,
    ) -> Result<ChannelSend, StoreError> {
        Err(not_yet("channels"))
    }
    fn read_messages(
        &self,
        _k: &ChannelKey,
        _since: i64,
        _limit: usize,
        _ttl_ms: i64,
    ) -> Result<Vec<ChannelMessage>, StoreError> {
        Err(not_yet("channels"))
    }
    fn channels(&self, _ws: &str) -> Result<Vec<ChannelInfo>, StoreError> {
        Err(not_yet("channels"))
    }
    fn clear_channel(&self, _k: &ChannelKey) -> Result<u64, StoreError> {
        Err(not_yet("channels"))
    }
}
