"""An Entra Connect Sync (AD Connect) server: scheduler, two connectors, sync cycles, run history, staging mode.

The model answers what the ADSync cmdlets answer (reference section 8): ``Get-ADSyncScheduler``,
``Get-ADSyncConnectorRunStatus``, ``Start-ADSyncSyncCycle`` (with its two "busy" errors), ``Stop-ADSyncSyncCycle``,
``Invoke-ADSyncRunProfile`` and ``Get-ADSyncRunProfileResult -RunStepDetails``. The admin API exposes it
(``entra_sim.adconnect_admin``) and a test-only Ansible connection plugin turns it into PowerShell output.

A cycle runs in a background thread, one run profile after another, each taking ``step_seconds``, with the engine
idle for ``gap_seconds`` between steps (``Get-ADSyncConnectorRunStatus`` is briefly empty, as on a real server):

* Delta: Delta Import (AD, then Entra), Delta Synchronization (AD, then Entra), Export (Entra, then AD);
* Initial: the same with Full Import and Full Synchronization.

The AD connector imports from a real LDAP directory (``entra_sim.ad_directory``, Samba in the tests) within the
sync-scope OUs: a full import reads them all and deletes from the connector space what it no longer finds; a delta
import reads what changed above the connector's USN watermark, tombstones included. Synchronization computes what
Entra ID should hold (security groups, users, memberships of synced members) and the Entra connector's export writes
the difference to the tenant as synced objects, through the tenant model, so the licence engine reacts as it does to
any membership change. In staging mode the exports do not run, and the pending exports wait in the connector space.
"""

from __future__ import annotations

import collections
import threading
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from entra_sim.ad_directory import (
    DEFAULT_PORTS,
    ADObject,
    Directory,
    DirectoryError,
    DirectorySettings,
    in_scope,
    normalize_dn,
)

DELTA, INITIAL = "Delta", "Initial"
IMPORT, SYNC, EXPORT = "import", "sync", "export"
PROFILES = {
    DELTA: {IMPORT: "Delta Import", SYNC: "Delta Synchronization", EXPORT: "Export"},
    INITIAL: {IMPORT: "Full Import", SYNC: "Full Synchronization", EXPORT: "Export"},
}
RUN_PROFILES = {name: (policy, step) for policy, steps in PROFILES.items() for step, name in steps.items()}
STAGE_COUNTERS = ("StageNoChange", "StageAdd", "StageUpdate", "StageRename", "StageDelete", "StageDeleteAdd",
                  "StageFailure")
SYNC_COUNTERS = (
    "DisconnectorFiltered", "DisconnectorJoinedNoFlow", "DisconnectorJoinedFlow", "DisconnectorJoinedRemoveMv",
    "DisconnectorProjectedNoFlow", "DisconnectorProjectedFlow", "DisconnectorProjectedRemoveMv", "DisconnectorRemains",
    "ConnectorFilteredRemoveMv", "ConnectorFilteredLeaveMv", "ConnectorFlow", "ConnectorFlowRemoveMv",
    "ConnectorNoFlow", "ConnectorDelete", "ConnectorDeleteRemoveMv", "ConnectorDeleteLeaveMv",
    "ConnectorDeleteAddProcessed", "FlowFailure",
)
EXPORT_COUNTERS = ("ExportAdd", "ExportUpdate", "ExportRename", "ExportDelete", "ExportDeleteAdd", "ExportFailure")
COUNTERS = STAGE_COUNTERS + SYNC_COUNTERS + EXPORT_COUNTERS
# Run results (lower-case, hyphenated, as Get-ADSyncRunProfileResult reports them).
SUCCESS = "success"
IN_PROGRESS = "in-progress"
EXPORT_ERRORS = "completed-export-errors"
NO_START = "no-start-connection"
STOPPED = "stopped-user-termination-from-wmi-or-ui"
# [S] the two texts Start-ADSyncSyncCycle fails with while the engine is busy (reference 8.2).
START_CYCLE_FRAME = "   at Microsoft.MetadirectoryServices.Scheduler.Scheduler.StartSyncCycle(String overridePolicy, " \
    "Boolean interactiveMode)"
SYNC_RUNNING = "Sync is already running. Cannot start a new run till this one completes."
CONNECTOR_BUSY = "Connector: {connector} is busy."
START_CMDLET = "Microsoft.IdentityManagement.PowerShell.Cmdlet.StartADSyncSyncCycle"
# [U] export error types: a UPN another object holds, and the delete of a group that still has licences (Microsoft:
# "Microsoft Entra Connect may also report errors if it's failing to delete the group").
UPN_TAKEN = "AttributeValueMustBeUnique"
LICENSED_GROUP_DELETE = "DeleteLicensedGroupRefused"
SYNC_INTERVAL = timedelta(minutes=30)
RUN_HISTORY_LIMIT = 1000
USERNAME = "NT SERVICE\\ADSync"
NAMESPACE = uuid.UUID("7c9e6679-7425-40de-944b-e07fc1f90ae7")


def dotnet_time(moment: datetime | None) -> str | None:
    """.NET round-trip ('o') text of a UTC time: seven fractional digits and a Z."""
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


def _now() -> datetime:
    return datetime.now(UTC)


class ADSyncError(Exception):
    """What a cmdlet throws: the exception message, its .NET type and the ErrorRecord's FullyQualifiedErrorId."""

    def __init__(self, message: str, exception_type: str, error_id: str) -> None:
        super().__init__(message)
        self.message = message
        self.exception_type = exception_type
        self.error_id = error_id

    def to_dict(self) -> dict[str, str]:
        return {"message": self.message, "type": self.exception_type, "fully_qualified_error_id": self.error_id}


def _start_refused(text: str) -> ADSyncError:
    first = f"System.InvalidOperationException: {text}"
    return ADSyncError(f"{first}\r\n{START_CYCLE_FRAME}", "System.InvalidOperationException", f"{first},{START_CMDLET}")


# ----------------------------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class ADConnectConfig:
    """Where the AD connector reads, how long steps take, and the scheduler flags an administrator controls."""

    forest: str = ""
    server: str | None = None
    port: int | None = None
    encryption: str = "ldaps"
    ca_bundle: str | None = None
    bind_dn: str | None = None
    bind_password: str | None = None
    base_dn: str | None = None
    sync_scope: tuple[str, ...] = ()
    ldap_timeout: float = 10.0
    step_seconds: float = 1.0
    gap_seconds: float = 0.2
    start_delay: float = 0.0
    staging_mode: bool = False
    sync_cycle_enabled: bool = True
    scheduler_suspended: bool = False

    @property
    def connector_name(self) -> str:
        """The AD connector is named after the forest: the seed's ``forest``, else the base DN's DNS name."""
        if self.forest:
            return self.forest
        if self.base_dn:
            return DirectorySettings("", self.base_dn, "", "").dns_domain
        return "corp.contoso.test"

    def directory(self) -> DirectorySettings | None:
        if not (self.server and self.base_dn and self.bind_dn and self.bind_password is not None):
            return None
        return DirectorySettings(self.server, self.base_dn, self.bind_dn, self.bind_password, self.port,
                                 self.encryption, self.ca_bundle, self.sync_scope, self.ldap_timeout)

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["sync_scope"] = list(self.sync_scope)
        data["bind_password"] = "********" if self.bind_password else self.bind_password
        data["connector_name"] = self.connector_name
        return data

    def updated(self, changes: Any) -> ADConnectConfig:
        """A copy with ``changes`` applied; ValueError names the first bad key and changes nothing."""
        if not isinstance(changes, dict):
            raise ValueError("adconnect settings must be a JSON object")
        values: dict[str, Any] = {}
        for key, value in changes.items():
            if key not in self.__dataclass_fields__:
                raise ValueError(f"unknown adconnect setting {key!r}; known: {sorted(self.__dataclass_fields__)}")
            values[key] = _checked(key, value)
        return replace(self, **values)


_STRINGS = ("forest", "server", "ca_bundle", "bind_dn", "bind_password", "base_dn")
_SECONDS = ("ldap_timeout", "step_seconds", "gap_seconds", "start_delay")
_FLAGS = ("staging_mode", "sync_cycle_enabled", "scheduler_suspended")


def _checked(key: str, value: Any) -> Any:
    if key in _STRINGS:
        if value is not None and not isinstance(value, str):
            raise ValueError(f"adconnect.{key} must be a string or null")
        return value
    if key in _SECONDS:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"adconnect.{key} must be a number of seconds >= 0")
        return float(value)
    if key in _FLAGS:
        if not isinstance(value, bool):
            raise ValueError(f"adconnect.{key} must be true or false")
        return value
    if key == "port":
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536):
            raise ValueError("adconnect.port must be a TCP port or null")
        return value
    if key == "encryption":
        if value not in DEFAULT_PORTS:
            raise ValueError(f"adconnect.encryption must be one of {sorted(DEFAULT_PORTS)}")
        return value
    if not isinstance(value, list) or not all(isinstance(ou, str) and ou for ou in value):  # sync_scope
        raise ValueError("adconnect.sync_scope must be a list of OU distinguished names")
    return tuple(value)


def validate_config(spec: Any) -> ADConnectConfig:
    """The settings of a seed's ``adconnect`` key (ValueError when invalid)."""
    return ADConnectConfig().updated(spec or {})


# ------------------------------------------------------------------------------------------------- run history


@dataclass
class Run:
    """One run profile result (Get-ADSyncRunProfileResult), with one run step."""

    connector: str
    profile: str
    run_number: int
    start: datetime
    history_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    result: str = IN_PROGRESS
    end: datetime | None = None
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    errors: list[dict[str, str]] = field(default_factory=list)
    pending_exports: dict[str, int] | None = None

    @property
    def complete(self) -> bool:
        return self.end is not None

    def cmdlet(self) -> dict[str, Any]:
        """The object Get-ADSyncRunProfileResult -RunStepDetails returns (times as .NET 'o' text)."""
        step = {
            "StepNumber": 1, "StepResult": self.result, "StartDate": dotnet_time(self.start),
            "EndDate": dotnet_time(self.end), **self.counters,
            "ConnectorDiscoveryErrors": {"ConnectorDiscoveryErrorsList": []},
            # Import and export errors are reported with the step's synchronization errors, as in the run history.
            "SyncErrors": {"SyncErrorsList": [{"ObjectDn": e["dn"], "ErrorType": e["error_type"]}
                                              for e in self.errors]},
            "MvRetryErrors": {"MvRetryErrorsList": []},
        }
        data = {
            "RunHistoryId": self.history_id, "ConnectorId": str(uuid.uuid5(NAMESPACE, self.connector)),
            "ConnectorName": self.connector,
            "RunProfileId": str(uuid.uuid5(NAMESPACE, f"{self.connector}/{self.profile}")),
            "RunProfileName": self.profile, "RunNumber": self.run_number, "Username": USERNAME,
            "IsRunComplete": self.complete, "Result": self.result, "CurrentStepNumber": 1, "TotalSteps": 1,
            "StartDate": dotnet_time(self.start), "EndDate": dotnet_time(self.end), "RunStepResults": [step],
        }
        if self.pending_exports is not None:
            data["PendingExports"] = dict(self.pending_exports)
        return data


@dataclass
class Exported:
    """What the Entra connector space holds for one object: its Entra id and the values last exported."""

    entra_id: str
    kind: str
    dn: str
    values: dict[str, Any]
    members: tuple[str, ...] = ()


@dataclass
class PendingExport:
    anchor: str
    kind: str
    dn: str
    action: str  # add, update, delete
    values: dict[str, Any] = field(default_factory=dict)
    members: tuple[str, ...] = ()


class _Cancelled(Exception):
    """The activity was stopped (Stop-ADSyncSyncCycle) or the simulator was reset under it."""


@dataclass
class _Activity:
    """What the engine is doing: a cycle (queued until it starts) or a single run profile."""

    kind: str  # "cycle" or "run"
    policy: str
    stop: threading.Event = field(default_factory=threading.Event)
    started: bool = False
    running: str | None = None  # connector of the run in progress


# ------------------------------------------------------------------------------------------------------- engine


class ADConnect:
    """The sync engine of one simulated Entra Connect server, attached to the simulator whose tenant it exports to."""

    def __init__(self, simulator: Any) -> None:
        self.sim = simulator
        self.lock = threading.Lock()
        self.generation = 0
        self.config = ADConnectConfig()
        self._reset_state()

    def _reset_state(self) -> None:
        self.activity: _Activity | None = None
        self.history: collections.deque[Run] = collections.deque(maxlen=RUN_HISTORY_LIMIT)
        self.run_numbers: dict[str, int] = {}
        self.ad_space: dict[str, ADObject] = {}
        self.staged: set[str] = set()
        self.watermark = 0
        self.imported = False
        self.netbios = ""
        self.entra_space: dict[str, Exported] = {}
        self.pending: dict[str, PendingExport] = {}
        # Anchors whose last export failed: a group does not list them as members until they are exported.
        self.failed: set[str] = set()
        self.unconfirmed = dict.fromkeys(("add", "update", "delete"), 0)
        self.next_start = _now() + SYNC_INTERVAL

    # --- lifecycle ---------------------------------------------------------------------------------------

    def reset(self, config: ADConnectConfig) -> None:
        """Forget everything (connector spaces, history, a running cycle) and take ``config``.

        Called with the simulator lock held; a cycle thread still running notices the new generation at its next
        step or tenant write and ends without touching anything.
        """
        with self.lock:
            self._stop_activity()
            self.generation += 1
            self.config = config
            self._reset_state()

    def shutdown(self) -> None:
        with self.lock:
            self._stop_activity()
            self.generation += 1

    def _stop_activity(self) -> None:
        if self.activity is not None:
            self.activity.stop.set()
            self.activity = None

    def configure(self, changes: dict[str, Any]) -> ADConnectConfig:
        with self.lock:
            self.config = self.config.updated(changes)
            return self.config

    @property
    def aad_connector(self) -> str:
        return f"{self.sim.tenant.domain} - AAD"

    # --- cmdlets ---------------------------------------------------------------------------------------------

    def scheduler(self) -> dict[str, Any]:
        """Get-ADSyncScheduler."""
        with self.lock:
            config, activity = self.config, self.activity
            return {
                "AllowedSyncCycleInterval": "00:30:00",
                "CurrentlyEffectiveSyncCycleInterval": "00:30:00",
                "CustomizedSyncCycleInterval": None,
                "NextSyncCyclePolicyType": DELTA if self.imported else INITIAL,
                "NextSyncCycleStartTimeInUTC": dotnet_time(self.next_start),
                "PurgeRunHistoryInterval": "7.00:00:00",
                "SyncCycleEnabled": config.sync_cycle_enabled,
                "MaintenanceEnabled": True,
                "StagingModeEnabled": config.staging_mode,
                "SchedulerSuspended": config.scheduler_suspended,
                "SyncCycleInProgress": bool(activity and activity.kind == "cycle" and activity.started),
            }

    def connector_run_status(self) -> list[dict[str, str]]:
        """Get-ADSyncConnectorRunStatus: empty when no connector runs (also between the steps of a cycle)."""
        with self.lock:
            running = self.activity.running if self.activity else None
            return [{"RunState": "Busy", "ConnectorName": running}] if running else []

    def start_cycle(self, policy: str | None = None, *, wait: bool = False) -> dict[str, str]:
        """Start-ADSyncSyncCycle [-PolicyType]: queue a cycle and return at once (or, with ``wait``, when it ends)."""
        with self.lock:
            if self.activity is not None:
                if self.activity.kind == "run" and self.activity.running:
                    raise _start_refused(CONNECTOR_BUSY.format(connector=self.activity.running))
                raise _start_refused(SYNC_RUNNING)
            chosen = policy or (DELTA if self.imported else INITIAL)
            if chosen not in PROFILES:
                raise ADSyncError(f"Cannot bind parameter 'PolicyType'. Cannot convert value \"{chosen}\" to type "
                                  "\"Microsoft.IdentityManagement.PowerShell.ObjectModel.SynchronizationPolicyType\".",
                                  "System.Management.Automation.ParameterBindingException",
                                  f"CannotConvertArgumentNoMessage,{START_CMDLET}")
            activity = self.activity = _Activity("cycle", chosen)
            thread = threading.Thread(target=self._cycle, args=(activity, self.generation), daemon=True,
                                      name=f"adsync-{chosen.lower()}-cycle")
        thread.start()
        if wait:
            thread.join()
        return {"Result": "Success"}

    def stop_cycle(self) -> None:
        """Stop-ADSyncSyncCycle: the run in progress ends stopped, the rest of the cycle does not run."""
        with self.lock:
            if self.activity is not None:
                self.activity.stop.set()

    def invoke_run_profile(self, connector: str, profile: str, *, wait: bool = False) -> dict[str, str]:
        """Invoke-ADSyncRunProfile: one run profile on one connector, outside any cycle."""
        if profile not in RUN_PROFILES:
            raise ADSyncError(f"Run profile '{profile}' was not found on connector '{connector}'.",
                              "System.ArgumentException", "System.ArgumentException,"
                              "Microsoft.IdentityManagement.PowerShell.Cmdlet.InvokeADSyncRunProfile")
        with self.lock:
            if connector not in (self.config.connector_name, self.aad_connector):
                raise ADSyncError(f"Connector '{connector}' was not found.", "System.ArgumentException",
                                  "System.ArgumentException,Microsoft.IdentityManagement.PowerShell.Cmdlet."
                                  "InvokeADSyncRunProfile")
            if self.activity is not None:
                raise ADSyncError(f"System.InvalidOperationException: {CONNECTOR_BUSY.format(connector=connector)}",
                                  "System.InvalidOperationException", "System.InvalidOperationException,"
                                  "Microsoft.IdentityManagement.PowerShell.Cmdlet.InvokeADSyncRunProfile")
            policy, step = RUN_PROFILES[profile]
            activity = self.activity = _Activity("run", policy)
            thread = threading.Thread(target=self._single_run, args=(activity, self.generation, connector, step),
                                      daemon=True, name="adsync-run-profile")
        thread.start()
        if wait:
            thread.join()
        return {"Result": "Success"}

    def run_profile_results(self, number_requested: int | None = None) -> list[dict[str, Any]]:
        """Get-ADSyncRunProfileResult -RunStepDetails [-NumberRequested N], newest first."""
        with self.lock:
            runs = list(self.history)
        return [run.cmdlet() for run in runs[:number_requested]]

    def state(self) -> dict[str, Any]:
        """Everything, for GET /_admin/adconnect."""
        scheduler, status = self.scheduler(), self.connector_run_status()
        with self.lock:
            return {
                "config": self.config.to_dict(),
                "scheduler": scheduler,
                "connector_run_status": status,
                "connectors": [
                    {"name": self.config.connector_name, "type": "AD", "watermark": self.watermark,
                     "objects": len(self.ad_space), "netbios_name": self.netbios,
                     "imported": self.imported},
                    {"name": self.aad_connector, "type": "Extensible2", "objects": len(self.entra_space),
                     "pending_exports": [{"anchor": p.anchor, "kind": p.kind, "dn": p.dn, "action": p.action}
                                         for p in self.pending.values()]},
                ],
                "run_history": [run.cmdlet() for run in self.history],
            }

    # --- threads ---------------------------------------------------------------------------------------------

    def _cycle(self, activity: _Activity, generation: int) -> None:
        try:
            self._pause(activity, generation, self.config.start_delay)
            with self.lock:
                self._check(activity, generation)
                activity.started = True
            ad, aad = self.config.connector_name, self.aad_connector
            steps = [(ad, IMPORT), (aad, IMPORT), (ad, SYNC), (aad, SYNC)]
            if not self.config.staging_mode:
                steps += [(aad, EXPORT), (ad, EXPORT)]
            for index, (connector, step) in enumerate(steps):
                if index:
                    self._pause(activity, generation, self.config.gap_seconds)
                self._run(activity, generation, connector, step)
        except _Cancelled:
            pass
        finally:
            self._finish(activity, generation)

    def _single_run(self, activity: _Activity, generation: int, connector: str, step: str) -> None:
        try:
            self._run(activity, generation, connector, step)
        except _Cancelled:
            pass
        finally:
            self._finish(activity, generation)

    def _finish(self, activity: _Activity, generation: int) -> None:
        with self.lock:
            if self.generation == generation and self.activity is activity:
                self.activity = None
                if activity.kind == "cycle" and activity.started:
                    self.next_start = _now() + SYNC_INTERVAL

    def _check(self, activity: _Activity, generation: int) -> None:
        """Raise _Cancelled when the activity was stopped or the model reset; call with self.lock held."""
        if self.generation != generation or activity.stop.is_set():
            raise _Cancelled

    def _pause(self, activity: _Activity, generation: int, seconds: float) -> None:
        if seconds > 0:
            activity.stop.wait(seconds)
        with self.lock:
            self._check(activity, generation)

    def _run(self, activity: _Activity, generation: int, connector: str, step: str) -> None:
        """One run profile: busy for step_seconds, then the work; a stop during the wait ends it stopped."""
        profile = PROFILES[activity.policy][step]
        with self.lock:
            self._check(activity, generation)
            number = self.run_numbers[connector] = self.run_numbers.get(connector, 0) + 1
            run = Run(connector, profile, number, _now())
            self.history.appendleft(run)
            activity.running = connector
        activity.stop.wait(self.config.step_seconds)
        result = STOPPED
        try:
            with self.lock:
                self._check(activity, generation)
            handlers = {IMPORT: self._import_ad, SYNC: self._sync_ad, EXPORT: self._export_ad}
            if connector != self.config.connector_name:
                handlers = {IMPORT: self._import_aad, SYNC: self._sync_aad, EXPORT: self._export_aad}
            result = handlers[step](run, activity.policy == INITIAL, generation)
        except _Cancelled:
            raise
        except Exception as exc:  # a fault of the model itself: shown in the run history, not lost in a thread
            result = "stopped-extension-dll-exception"
            with self.lock:
                run.errors.append({"dn": "", "error_type": f"{type(exc).__name__}: {exc}"})
        finally:
            with self.lock:
                if self.generation == generation:
                    run.result = result
                    run.end = _now()
                    activity.running = None

    # --- AD connector ------------------------------------------------------------------------------------

    def _import_ad(self, run: Run, full: bool, generation: int) -> str:
        settings = self.config.directory()
        if settings is None:
            return self._no_start(run, "no directory configured (PUT /_admin/adconnect/config)")
        try:
            with Directory(settings) as directory:
                usn = directory.highest_usn()
                netbios = directory.netbios_name()
                if full:
                    objects, deleted = directory.read_scope(), None
                else:
                    objects, deleted = directory.read_changes(self.watermark)
        except DirectoryError as exc:
            return self._no_start(run, str(exc))
        with self.lock:
            if self.generation != generation:
                raise _Cancelled
            counters = run.counters
            seen: set[str] = set()
            for obj in objects:
                if not in_scope(obj.dn, settings.scope):
                    if obj.guid in self.ad_space:  # moved out of the sync scope: gone for the connector
                        del self.ad_space[obj.guid]
                        self.staged.add(obj.guid)
                        counters["StageDelete"] += 1
                    continue
                seen.add(obj.guid)
                before = self.ad_space.get(obj.guid)
                if before is None:
                    counters["StageAdd"] += 1
                elif normalize_dn(before.dn) != normalize_dn(obj.dn):
                    counters["StageRename"] += 1
                elif before.values != obj.values:
                    counters["StageUpdate"] += 1
                else:
                    counters["StageNoChange"] += 1
                    continue
                self.ad_space[obj.guid] = obj
                self.staged.add(obj.guid)
            if full:
                gone = [g for g in self.ad_space if g not in seen]
            else:
                gone = [g for g in deleted or [] if g in self.ad_space]
            for guid in gone:
                del self.ad_space[guid]
                self.staged.add(guid)
                counters["StageDelete"] += 1
            self.watermark = usn
            self.netbios = netbios
            self.imported = True
        return SUCCESS

    def _no_start(self, run: Run, reason: str) -> str:
        with self.lock:
            run.errors.append({"dn": "", "error_type": reason})
        return NO_START

    def _sync_ad(self, run: Run, full: bool, generation: int) -> str:
        """Project the staged objects (every object on a full sync) into the metaverse."""
        with self.lock:
            if self.generation != generation:
                raise _Cancelled
            counters = run.counters
            guids = set(self.ad_space) | self.staged if full else set(self.staged)
            for guid in guids:
                obj = self.ad_space.get(guid)
                if obj is None:
                    counters["ConnectorDeleteRemoveMv"] += 1
                elif obj.kind == "group" and not obj.security_group:
                    counters["DisconnectorFiltered"] += 1
                elif guid in self.entra_space:
                    counters["ConnectorFlow" if guid in self.staged else "ConnectorNoFlow"] += 1
                else:
                    counters["DisconnectorProjectedFlow"] += 1
            self.staged.clear()
        return SUCCESS

    def _export_ad(self, run: Run, full: bool, generation: int) -> str:
        """Nothing is written back to AD (no writeback features): an empty export."""
        return SUCCESS

    # --- Entra connector -----------------------------------------------------------------------------------

    def _import_aad(self, run: Run, full: bool, generation: int) -> str:
        """Confirming import of the last exports (and, on a full import, every object of the connector space)."""
        with self.lock:
            if self.generation != generation:
                raise _Cancelled
            counters = run.counters
            counters["StageAdd"] += self.unconfirmed["add"]
            counters["StageUpdate"] += self.unconfirmed["update"]
            counters["StageDelete"] += self.unconfirmed["delete"]
            if full:
                changed = self.unconfirmed["add"] + self.unconfirmed["update"]
                counters["StageNoChange"] = max(0, len(self.entra_space) - changed)
            self.unconfirmed = dict.fromkeys(self.unconfirmed, 0)
        return SUCCESS

    def _sync_aad(self, run: Run, full: bool, generation: int) -> str:
        """Outbound synchronization: what Entra ID should hold, compared with the Entra connector space."""
        with self.lock:
            if self.generation != generation:
                raise _Cancelled
            desired = self._desired()
            exportable = {a for a in desired if a in self.entra_space or a not in self.failed}
            pending: dict[str, PendingExport] = {}
            for anchor, want in desired.items():
                have = self.entra_space.get(anchor)
                members = tuple(m for m in want.members if m in exportable)
                if have is None:
                    pending[anchor] = replace(want, action="add")
                elif have.values != want.values or have.members != members:
                    pending[anchor] = replace(want, action="update")
            for anchor, have in self.entra_space.items():
                if anchor not in desired:
                    pending[anchor] = PendingExport(anchor, have.kind, have.dn, "delete")
            self.pending = pending
            run.counters["ConnectorNoFlow"] = len(self.entra_space)
            run.pending_exports = {action: sum(1 for p in pending.values() if p.action == action)
                                   for action in ("add", "update", "delete")}
        return SUCCESS

    def _desired(self) -> dict[str, PendingExport]:
        """Every in-scope user and security group as Entra ID should show it; groups list members by anchor."""
        settings = self.config.directory()
        domain = settings.dns_domain if settings else self.config.connector_name
        tenant_domain = self.sim.tenant.domain
        users = {g: o for g, o in self.ad_space.items() if o.kind == "user"}
        groups = {g: o for g, o in self.ad_space.items() if o.security_group}
        by_dn = {normalize_dn(o.dn): g for g, o in {**users, **groups}.items()}
        desired: dict[str, PendingExport] = {}
        for guid, obj in users.items():
            desired[guid] = PendingExport(guid, "user", obj.dn, "", user_values(obj, domain, tenant_domain))
        for guid, obj in groups.items():
            members = tuple(sorted(by_dn[dn] for dn in obj.values.get("member") or () if dn in by_dn))
            desired[guid] = PendingExport(guid, "group", obj.dn, "", group_values(obj, domain, self.netbios), members)
        return desired

    def _export_aad(self, run: Run, full: bool, generation: int) -> str:
        """Write the pending exports to the tenant: users first, then groups (their members exist by then), then
        the deletes. A failed export stays pending and is tried again by the next cycle."""
        with self.lock:
            pending = sorted(self.pending.values(), key=lambda p: (p.action == "delete", p.kind != "user"))
        for item in pending:
            with self.sim.lock:
                with self.lock:
                    if self.generation != generation:
                        raise _Cancelled
                    error = self._export_one(item, run.counters)
                    if error is None:
                        self.pending.pop(item.anchor, None)
                        self.failed.discard(item.anchor)
                        self.unconfirmed[item.action] += 1
                    else:
                        self.failed.add(item.anchor)
                        run.counters["ExportFailure"] += 1
                        run.errors.append({"dn": item.dn, "error_type": error})
        return EXPORT_ERRORS if run.counters["ExportFailure"] else SUCCESS

    def _export_one(self, item: PendingExport, counters: dict[str, int]) -> str | None:
        """One export (simulator and model locks held); the error type when Entra refuses it."""
        tenant = self.sim.tenant
        have = self.entra_space.get(item.anchor)
        if item.action == "delete":
            if have is not None:
                if have.kind == "user" and have.entra_id in tenant.users:
                    tenant.delete_user(tenant.users[have.entra_id])
                elif have.kind == "group" and have.entra_id in tenant.groups:
                    group = tenant.groups[have.entra_id]
                    if group["assignedLicenses"]:
                        return LICENSED_GROUP_DELETE
                    tenant.delete_group(group)
                del self.entra_space[item.anchor]
            counters["ExportDelete"] += 1
            return None
        if item.kind == "user":
            owner = tenant.users.get(tenant.upn_index.get(item.values["userPrincipalName"].lower(), ""))
            if owner is not None and owner["onPremisesImmutableId"] != item.values["onPremisesImmutableId"]:
                return UPN_TAKEN
            entra = tenant.upsert_synced_user(item.values)
            members: tuple[str, ...] = ()
        else:
            members = tuple(m for m in item.members if m in self.entra_space)
            entra = tenant.upsert_synced_group(item.values, [self.entra_space[m].entra_id for m in members])
        self.entra_space[item.anchor] = Exported(entra["id"], item.kind, item.dn, item.values, members)
        counters["ExportAdd" if have is None else "ExportUpdate"] += 1
        return None


def user_values(obj: ADObject, domain: str, tenant_domain: str) -> dict[str, Any]:
    """The Graph properties Entra Connect's default rules give a user (usageLocation only when AD has ``c``)."""
    values = obj.values
    sam = values.get("sAMAccountName") or ""
    upn = values.get("userPrincipalName") or f"{sam}@{tenant_domain}"
    result = {
        "userPrincipalName": upn,
        "displayName": values.get("displayName") or values.get("cn"),
        "givenName": values.get("givenName"),
        "surname": values.get("sn"),
        "mail": values.get("mail"),
        "mailNickname": sam,
        "department": values.get("department"),
        "jobTitle": values.get("title"),
        "accountEnabled": obj.enabled,
        "onPremisesImmutableId": obj.immutable_id,
        "onPremisesSecurityIdentifier": values.get("objectSid"),
        "onPremisesSamAccountName": sam,
        "onPremisesDomainName": domain,
        "onPremisesDistinguishedName": obj.dn,
        "onPremisesUserPrincipalName": values.get("userPrincipalName"),
    }
    if values.get("c"):
        result["usageLocation"] = values["c"].upper()
    return result


def group_values(obj: ADObject, domain: str, netbios: str) -> dict[str, Any]:
    """The Graph properties of a synced security group (displayName falls back to cn, as the default rule does)."""
    values = obj.values
    return {
        "displayName": values.get("displayName") or values.get("cn"),
        "description": values.get("description"),
        "mailNickname": values.get("sAMAccountName") or values.get("cn"),
        "securityEnabled": True,
        "mailEnabled": False,
        "onPremisesSecurityIdentifier": values.get("objectSid"),
        "onPremisesSamAccountName": values.get("sAMAccountName"),
        "onPremisesDomainName": domain,
        "onPremisesNetBiosName": netbios or domain.split(".", maxsplit=1)[0].upper(),
    }
