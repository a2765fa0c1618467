//! The MCP server: an rmcp [`ServerHandler`] over the skills of one workspace.

use std::sync::{Arc, Mutex, RwLock};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, GetPromptRequestParams, GetPromptResponse,
    GetSkillRequestParams, GetSkillResult, Implementation, ListPromptsResult, ListResourcesResult,
    ListSkillsResult, ListToolsResult, PaginatedRequestParams, ReadResourceDirectoryRequestParams,
    ReadResourceDirectoryResult, ReadResourceRequestParams, ReadResourceResponse,
    ServerCapabilities, ServerConfig, SubscriptionFilter,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData as McpError, Peer, RoleServer, ServerHandler};
use skillet_engine::session::{Pools, SessionManager};
use skillet_engine::{Engine, EngineSetup, SetupError};
use skillet_registry::{Availability, Environment, Registry};
use skillet_store::Store;
use tokio::sync::{Semaphore, broadcast};

use crate::agent_skills::AgentSkills;
use crate::catalog::{Catalog, ToolTarget};
use crate::{arguments, call, prompts};

/// Calls run at once when the configuration does not say.
pub const DEFAULT_MAX_CONCURRENT_CALLS: usize = 16;

/// How an MCP server is set up.
#[derive(Debug, Clone)]
pub struct McpOptions {
    /// Where skills, configuration and the workspace are found.
    pub env: Environment,
    /// The execution history; `None` keeps none.
    pub store: Option<Arc<dyn Store>>,
    /// Owns the sessions of `code_session` tools. The daemon shares its own.
    pub sessions: Arc<SessionManager>,
    /// Tool calls running at once; more wait their turn.
    pub max_concurrent_calls: usize,
}

/// Everything one version of the skills gives: replaced whole when skill files change.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub registry: Registry,
    pub engine: Engine,
    pub catalog: Catalog,
    pub skills: AgentSkills,
}

impl Snapshot {
    /// The skills `env` sees now; with `previous`, a skill file broken mid-edit keeps the
    /// version `previous` served (an agent must not see a tool vanish over a typo).
    fn load(
        env: &Environment,
        store: Option<Arc<dyn Store>>,
        previous: Option<&Registry>,
        pools: &Arc<Pools>,
    ) -> Result<Snapshot, SetupError> {
        let setup = EngineSetup::load(env.clone())?;
        let registry = match previous {
            Some(previous) => Registry::discover_keeping(&setup.env, &setup.config, previous),
            None => setup.registry(),
        };
        let catalog = Catalog::build(&registry, &setup.config, env);
        let skills = AgentSkills::build(&registry, &setup.config, env);
        let engine = setup.engine(store).with_pools(pools.clone());
        Ok(Snapshot {
            registry,
            engine,
            catalog,
            skills,
        })
    }
}

/// Which lists changed in a reload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changes {
    /// `tools/list` answers differently.
    pub tools: bool,
    /// `prompts/list` answers differently.
    pub prompts: bool,
    /// `resources/list` and `skills/list` answer differently.
    pub resources: bool,
}

impl Changes {
    /// Whether anything changed.
    pub fn any(self) -> bool {
        self.tools || self.prompts || self.resources
    }
}

pub(crate) struct Shared {
    pub options: McpOptions,
    pub snapshot: RwLock<Arc<Snapshot>>,
    pub calls: Semaphore,
    /// Where runs wait for their turn instead of `calls`: the daemon's job queue.
    pub queue: std::sync::OnceLock<Arc<dyn skillet_engine::RunQueue>>,
    /// Warm interpreters of pooled `code_session` skills: kept across reloads, since a
    /// member is keyed by how it was started and a changed skill gets new ones.
    pools: Arc<Pools>,
    changes: broadcast::Sender<Changes>,
    /// Clients on the older protocols, told of changes with list_changed notifications.
    peers: Mutex<Vec<Peer<RoleServer>>>,
}

/// Serves the skills of one workspace over MCP. Cheap to clone: clones share everything.
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use skillet_mcp::{McpOptions, SkillServer};
/// let options = McpOptions {
///     env: skillet_registry::Environment::from_process()?,
///     store: None,
///     sessions: Arc::new(skillet_engine::session::SessionManager::new(None)),
///     max_concurrent_calls: 16,
/// };
/// let server = SkillServer::new(options)?;
/// skillet_mcp::serve_stdio(server, skillet_mcp::StdioOptions::default()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SkillServer {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for SkillServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkillServer")
            .field("workspace", &self.shared.options.env.cwd)
            .finish_non_exhaustive()
    }
}

impl SkillServer {
    /// A server for the skills `options.env` sees. Fails only on an unreadable configuration.
    pub fn new(options: McpOptions) -> Result<SkillServer, SetupError> {
        // `[daemon] max_warm_interpreters` bounds this process's pools as it does the daemon's.
        let pools = Arc::new(match skillet_registry::Config::load(&options.env) {
            Ok(config) => Pools::from_settings(&config.daemon),
            Err(_) => Pools::new(),
        });
        let snapshot = Snapshot::load(&options.env, options.store.clone(), None, &pools)?;
        let calls = Semaphore::new(options.max_concurrent_calls.max(1));
        Ok(SkillServer {
            shared: Arc::new(Shared {
                options,
                snapshot: RwLock::new(Arc::new(snapshot)),
                calls,
                queue: std::sync::OnceLock::new(),
                pools,
                changes: broadcast::channel(16).0,
                peers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Runs of skills wait in `queue` for their turn from now on, instead of under
    /// `max_concurrent_calls` (which still bounds session exchanges and conversations). Set
    /// once; a second queue is ignored.
    pub fn route_runs_through(&self, queue: Arc<dyn skillet_engine::RunQueue>) {
        let _ = self.shared.queue.set(queue);
    }

    pub(crate) fn snapshot(&self) -> Arc<Snapshot> {
        self.shared
            .snapshot
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Names of valid skills hidden from agents, and why.
    pub fn hidden(&self) -> Vec<(String, Availability)> {
        self.snapshot().catalog.hidden.clone()
    }

    /// The skills served in their last good version because their file is broken now.
    pub fn kept(&self) -> Vec<skillet_registry::KeptSkill> {
        self.snapshot().registry.kept().to_vec()
    }

    /// The names of the tools served now.
    pub fn tool_names(&self) -> Vec<String> {
        self.snapshot()
            .catalog
            .tools()
            .into_iter()
            .map(|t| t.name.into_owned())
            .collect()
    }

    /// Reads the skills again; when a list changed, tells every connected client. On an
    /// unreadable configuration the previous skills keep being served.
    pub async fn reload(&self) -> Result<Changes, SetupError> {
        let changes = self.reload_now()?;
        if changes.any() {
            self.announce(changes).await;
        }
        Ok(changes)
    }

    /// Reads the skills again and serves them from now on, without telling clients: the caller
    /// announces the changes. Blocking (it reads every skill file), so the watcher calls it on a
    /// thread of its own rather than on the runtime. A skill file that is there but broken
    /// keeps the version served before ([`SkillServer::kept`] lists them); a deleted one is
    /// removed.
    pub fn reload_now(&self) -> Result<Changes, SetupError> {
        let options = &self.shared.options;
        let previous = self.snapshot();
        let next = Snapshot::load(
            &options.env,
            options.store.clone(),
            Some(&previous.registry),
            &self.shared.pools,
        )?;
        drop(previous);
        let changes = {
            let mut current = self
                .shared
                .snapshot
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let changes = Changes {
                tools: current.catalog.tools() != next.catalog.tools(),
                prompts: current.catalog.prompts() != next.catalog.prompts(),
                resources: current.skills.skills() != next.skills.skills(),
            };
            *current = Arc::new(next);
            changes
        };
        Ok(changes)
    }

    /// Tells every connected client which lists changed.
    pub(crate) async fn announce(&self, changes: Changes) {
        let _ = self.shared.changes.send(changes);
        let peers: Vec<Peer<RoleServer>> = self
            .shared
            .peers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let mut gone = Vec::new();
        for (i, peer) in peers.iter().enumerate() {
            let sent = async {
                if changes.tools {
                    peer.notify_tool_list_changed().await?;
                }
                if changes.prompts {
                    peer.notify_prompt_list_changed().await?;
                }
                if changes.resources {
                    peer.notify_resource_list_changed().await?;
                }
                Ok::<(), rmcp::service::ServiceError>(())
            };
            if sent.await.is_err() {
                gone.push(i);
            }
        }
        if !gone.is_empty() {
            let mut peers = self
                .shared
                .peers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut i = 0;
            peers.retain(|_| {
                let keep = !gone.contains(&i);
                i += 1;
                keep
            });
        }
    }
}

impl ServerHandler for SkillServer {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_prompts()
            .enable_prompts_list_changed()
            .enable_resources()
            .enable_resources_list_changed()
            .enable_tools()
            .enable_tool_list_changed()
            .enable_skills_with_directory_read()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new("skillet", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Each tool runs one skillet skill in a sandbox (no network, writes only to a \
                 scratch directory, unless the user granted more) and returns its output. A failed \
                 run is a result with isError set, saying why. Session tools keep an interpreter \
                 alive: pass back the session_id they return.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(
            self.snapshot().catalog.tools(),
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let snapshot = self.snapshot();
        // MCP: an unknown tool is invalid params (-32602), not an unknown method.
        let Some((tool, target)) = snapshot.catalog.tool(&request.name) else {
            return Err(McpError::invalid_params(
                format!(
                    "no tool named `{}`; tools/list gives the current ones",
                    request.name
                ),
                None,
            ));
        };
        let target: ToolTarget = target.clone();
        let arguments = arguments::check(&tool.input_schema, request.arguments.unwrap_or_default())
            .map_err(|message| {
                McpError::invalid_params(
                    format!(
                        "invalid arguments for `{}`: {message}; tools/list gives its inputSchema",
                        request.name
                    ),
                    None,
                )
            })?;
        let declares_output = tool.output_schema.is_some();
        let request_id = context.id.to_string();
        let client = call::client_of(&context.extensions);
        // A cancelled request stops the call, which kills its process (see call.rs).
        let asker = call::Asker {
            request_id,
            client,
            cancelled: &context.ct,
        };
        let mut result = call::call(self, &snapshot, &target, arguments, asker).await;
        // MCP: structuredContent goes with an outputSchema; a tool without one sends none.
        if !declares_output {
            result.structured_content = None;
        }
        Ok(CallToolResponse::Complete(result))
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        Ok(ListPromptsResult::with_all_items(
            self.snapshot().catalog.prompts(),
        ))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let snapshot = self.snapshot();
        prompts::get(&self.shared.options.env, &snapshot, request).map(Into::into)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        Ok(ListResourcesResult::with_all_items(
            self.snapshot().skills.resources(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        self.snapshot()
            .skills
            .read_resource(&request.uri)
            .map(Into::into)
            .ok_or_else(|| {
                McpError::resource_not_found(format!("no resource {}", request.uri), None)
            })
    }

    async fn list_skills(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListSkillsResult, McpError> {
        Ok(ListSkillsResult::with_all_items(
            self.snapshot().skills.skills(),
        ))
    }

    async fn get_skill(
        &self,
        request: GetSkillRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetSkillResult, McpError> {
        self.snapshot().skills.get_skill(&request.uri)
    }

    async fn read_resource_directory(
        &self,
        request: ReadResourceDirectoryRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceDirectoryResult, McpError> {
        self.snapshot().skills.read_resource_directory(&request.uri)
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        let mut peers = self
            .shared
            .peers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        peers.retain(|p| !p.is_transport_closed());
        peers.push(context.peer);
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        Some(requested.supported_by(&self.get_info().capabilities))
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), McpError> {
        let mut changes = self.shared.changes.subscribe();
        let accepted = context.accepted().clone();
        loop {
            let change = tokio::select! {
                change = changes.recv() => change,
                () = context.cancelled() => return Ok(()),
            };
            let change = match change {
                Ok(change) => change,
                // Missed some: say everything changed, so the client fetches every list again.
                Err(broadcast::error::RecvError::Lagged(_)) => Changes {
                    tools: true,
                    prompts: true,
                    resources: true,
                },
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            };
            let sink = context.sink();
            let sent = async {
                if change.tools && accepted.tools_list_changed == Some(true) {
                    sink.notify_tool_list_changed().await?;
                }
                if change.prompts && accepted.prompts_list_changed == Some(true) {
                    sink.notify_prompt_list_changed().await?;
                }
                if change.resources && accepted.resources_list_changed == Some(true) {
                    sink.notify_resource_list_changed().await?;
                }
                Ok::<(), rmcp::service::SubscriptionSendError>(())
            };
            if sent.await.is_err() {
                return Ok(());
            }
        }
    }
}
