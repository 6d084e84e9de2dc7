#!/usr/bin/python
# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the work is done by the action plugin plugins/action/adsync_cycle.py.

from __future__ import annotations

DOCUMENTATION = r"""
module: adsync_cycle
short_description: Run a Microsoft Entra Connect (AD Connect) sync cycle and wait for its results
version_added: 0.1.0
description:
  - Starts a synchronization cycle on the Microsoft Entra Connect Sync server (formerly Azure AD Connect) the task runs
    against, with C(Start-ADSyncSyncCycle), waits for it to finish and reports each connector's run profile results.
    Use it after M(entra.licensing.ad_group) so new groups and members reach Entra ID now instead of at the next
    scheduled cycle (every 30 minutes by default).
  - Works over any Windows connection (C(winrm), C(psrp), or C(ssh) with C(ansible_shell_type=powershell)); nothing is
    copied to the server and no other collection is needed.
  - A cycle that is already running is waited for (O(busy=wait)) before ours starts, or fails the task (O(busy=fail)).
  - "Waiting polls C(Get-ADSyncScheduler) and C(Get-ADSyncConnectorRunStatus): the engine counts as finished once both
    say idle on two polls in a row (between the steps of a cycle the run status is briefly empty). The runs of this
    cycle are those of C(Get-ADSyncRunProfileResult) that started after C(Start-ADSyncSyncCycle) was called."
  - A run that did not take place or was stopped (result V(no-start-*) or V(stopped-*)) fails the task; runs that
    completed with per-object errors (for example V(completed-export-errors)) only warn, and list the objects in
    RV(runs[].errors).
options:
  policy_type:
    description:
      - V(Delta) imports, synchronizes and exports what changed since the last cycle; V(Initial) does a full import
        and full synchronization of every object, which takes much longer.
    type: str
    choices: [Delta, Initial]
    default: Delta
  wait:
    description:
      - Whether to wait for the cycle to finish and report its runs. With V(false) the task returns once the cycle
        is started, reporting C(changed=true).
    type: bool
    default: true
  timeout:
    description:
      - Seconds the task may take in all, including waiting for a cycle that was already running. When they run out
        the task fails with the scheduler and connector state it saw last.
    type: int
    default: 1800
  poll_interval:
    description:
      - Seconds between the first polls; the interval then grows with jittered backoff up to 30 seconds (or to
        O(poll_interval) when that is longer).
    type: float
    default: 5
  busy:
    description:
      - What to do when a sync cycle is already running (the scheduler's, or one someone else started).
      - V(wait) waits for it to finish, then starts ours, since changes made while it ran may have been missed.
      - V(fail) fails the task.
    type: str
    choices: [wait, fail]
    default: wait
  staging_mode:
    description:
      - What to do on a server in staging mode, which imports and synchronizes but exports nothing to Entra ID.
      - V(fail) fails the task before starting anything; V(warn) runs the cycle and warns.
    type: str
    choices: [fail, warn]
    default: fail
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: Nothing is run on the server; the task reports which cycle it would start and C(changed=false).
  diff_mode:
    support: none
  platform:
    platforms: windows
notes:
  - The account the connection logs on with must be allowed to run the ADSync cmdlets on the server, for example
    as a member of the local C(ADSyncOperators) group (or C(ADSyncAdmins)), which Entra Connect creates.
  - "The PowerShell it sends: C(Get-ADSyncScheduler) with C(Get-ADSyncConnectorRunStatus), C(Start-ADSyncSyncCycle
    -PolicyType), and C(Get-ADSyncRunProfileResult -RunStepDetails -NumberRequested 50), each after C(Import-Module ADSync).
    Run with C(-vvvvv) to see every script and its output."
  - C(changed) is true when the cycle exported something (the sum of the export counters of its runs is above zero),
    so a cycle with nothing to sync reports no change.
seealso:
  - module: entra.licensing.ad_group
  - name: Entra Connect Sync scheduler
    description: How the scheduler, Start-ADSyncSyncCycle and staging mode work.
    link: https://learn.microsoft.com/en-us/entra/identity/hybrid/connect/how-to-connect-sync-feature-scheduler
author:
  - entra.licensing contributors (@entra-licensing)
"""

EXAMPLES = r"""
- name: Push the new licensing groups to Entra ID now
  entra.licensing.adsync_cycle:
    policy_type: Delta
  delegate_to: aadconnect01.corp.contoso.com
  register: sync

- name: Show what the cycle exported
  ansible.builtin.debug:
    msg: "{{ sync.runs | selectattr('run_profile', 'equalto', 'Export') | map(attribute='counters') }}"

- name: Full cycle after changing the sync rules, allowing two hours, failing if another cycle is running
  entra.licensing.adsync_cycle:
    policy_type: Initial
    timeout: 7200
    poll_interval: 30
    busy: fail
  delegate_to: aadconnect01.corp.contoso.com

- name: Trigger a cycle without waiting for it
  entra.licensing.adsync_cycle:
    wait: false
  delegate_to: aadconnect01.corp.contoso.com
"""

RETURN = r"""
policy_type:
  description: The policy type of the cycle started (or that would be started in check mode).
  returned: always
  type: str
  sample: Delta
started:
  description: Whether a cycle was started.
  returned: always
  type: bool
  sample: true
started_at:
  description: When C(Start-ADSyncSyncCycle) was called, by the server's clock, in UTC.
  returned: when a cycle was started
  type: str
  sample: "2026-01-12T09:30:02.4310000Z"
waited_for_running_cycle:
  description: Whether a cycle that was already running had to finish before ours could start.
  returned: when not in check mode
  type: bool
  sample: false
staging_mode:
  description: Whether the server is in staging mode (it exports nothing).
  returned: when not in check mode
  type: bool
  sample: false
scheduler:
  description: The scheduler and connector state seen last.
  returned: when not in check mode
  type: dict
  contains:
    now:
      description: The server's clock, in UTC.
      type: str
    sync_cycle_enabled:
      description: C(SyncCycleEnabled) of C(Get-ADSyncScheduler).
      type: bool
    sync_cycle_in_progress:
      description: C(SyncCycleInProgress).
      type: bool
    staging_mode_enabled:
      description: C(StagingModeEnabled).
      type: bool
    scheduler_suspended:
      description: C(SchedulerSuspended) (set by Entra Connect during upgrades and in its wizard).
      type: bool
    next_sync_cycle_policy_type:
      description: C(NextSyncCyclePolicyType).
      type: str
    next_sync_cycle_start_time_utc:
      description: C(NextSyncCycleStartTimeInUTC).
      type: str
    connectors_running:
      description: What C(Get-ADSyncConnectorRunStatus) listed, as C(connector) and C(run_state).
      type: list
      elements: dict
  sample:
    now: "2026-01-12T09:31:40.0120000Z"
    sync_cycle_enabled: true
    sync_cycle_in_progress: false
    staging_mode_enabled: false
    scheduler_suspended: false
    next_sync_cycle_policy_type: Delta
    next_sync_cycle_start_time_utc: "2026-01-12T10:01:40.0000000Z"
    connectors_running: []
runs:
  description: The run profile results of this cycle, one per connector and run profile, in the order they started.
  returned: when the task waited for the cycle
  type: list
  elements: dict
  contains:
    connector:
      description: The connector's name.
      type: str
      sample: contoso.onmicrosoft.com - AAD
    run_profile:
      description: The run profile, such as C(Delta Import), C(Delta Synchronization) or C(Export).
      type: str
    result:
      description: The run's result as the sync engine reports it, such as V(success) or V(completed-export-errors).
      type: str
    run_number:
      description: The connector's run number.
      type: int
    run_history_id:
      description: The run's id in the run history.
      type: str
    is_run_complete:
      description: Whether the run had completed.
      type: bool
    start_date:
      description: When the run started, in UTC.
      type: str
    end_date:
      description: When the run ended, in UTC.
      type: str
    counters:
      description:
        - Sums over the run's steps of the staging counters (C(stage_add), C(stage_update), C(stage_rename),
          C(stage_delete), C(stage_delete_add), C(stage_failure)) and the export counters (C(export_add),
          C(export_update), C(export_rename), C(export_delete), C(export_delete_add), C(export_failure)).
      type: dict
    errors:
      description: Up to 20 objects the run reported errors for, with C(dn) and C(error_type).
      type: list
      elements: dict
  sample:
    - connector: corp.contoso.com
      run_profile: Delta Import
      result: success
      run_number: 412
      run_history_id: 7d0f6f42-3b1e-4a59-9c5e-2f1b8f6a1c10
      is_run_complete: true
      start_date: "2026-01-12T09:30:03.1000000Z"
      end_date: "2026-01-12T09:30:05.9000000Z"
      counters: {stage_add: 2, stage_update: 1, stage_rename: 0, stage_delete: 0, stage_delete_add: 0, stage_failure: 0,
                 export_add: 0, export_update: 0, export_rename: 0, export_delete: 0, export_delete_add: 0, export_failure: 0}
      errors: []
    - connector: contoso.onmicrosoft.com - AAD
      run_profile: Export
      result: success
      run_number: 398
      run_history_id: 1c4e9a2b-8f0d-4e61-a7b3-5d2c9e0f4b87
      is_run_complete: true
      start_date: "2026-01-12T09:30:20.4000000Z"
      end_date: "2026-01-12T09:30:31.2000000Z"
      counters: {stage_add: 0, stage_update: 0, stage_rename: 0, stage_delete: 0, stage_delete_add: 0, stage_failure: 0,
                 export_add: 2, export_update: 1, export_rename: 0, export_delete: 0, export_delete_add: 0, export_failure: 0}
      errors: []
exported:
  description: The sum of the export counters (adds, updates, renames, deletes, delete-adds) over the cycle's runs.
  returned: when the task waited for the cycle
  type: int
  sample: 3
elapsed:
  description: Seconds the task took.
  returned: when not in check mode
  type: float
  sample: 41.3
"""
