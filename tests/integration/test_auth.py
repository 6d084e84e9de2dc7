"""Authentication end to end: each method gets a token from the simulator's authority and makes a real Graph call."""

from __future__ import annotations

from .harness import HERE, run_playbook

READ = HERE / "playbooks" / "read_groups.yml"
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def app(simulator, name: str) -> dict:
    return next(entry for entry in simulator.ready["apps"] if entry["name"] == name)


def without_secret() -> dict[str, str]:
    return {"AZURE_CLIENT_SECRET": "", "AZURE_SECRET": ""}


def token_requests(simulator, cursor: int) -> list[dict]:
    return [entry for entry in simulator.log_since(cursor)["requests"] if entry["kind"] == "token" and entry["method"] == "POST"]


def test_client_secret_gets_one_token_and_reads_graph(simulator):
    cursor = simulator.cursor()
    run = run_playbook(READ, simulator)
    assert run.rc == 0, run.output
    tokens = token_requests(simulator, cursor)
    assert len(tokens) == 1
    assert tokens[0]["app"] == simulator.ready["client_id"]


def test_certificate_credential_reads_graph(simulator):
    cert_app = app(simulator, "cert")
    env = {
        **without_secret(),
        "AZURE_CLIENT_ID": cert_app["client_id"],
        "AZURE_CLIENT_CERTIFICATE_PATH": cert_app["certificate_path"],
    }
    cursor = simulator.cursor()
    run = run_playbook(READ, simulator, env=env)
    assert run.rc == 0, run.output
    assert [entry["app"] for entry in token_requests(simulator, cursor)] == [cert_app["client_id"]]


def test_managed_identity_reads_graph(simulator):
    identity = simulator.ready["managed_identity"]
    env = {
        **without_secret(),
        "AZURE_CLIENT_ID": "",
        "IDENTITY_ENDPOINT": identity["endpoint"],
        "IDENTITY_HEADER": identity["header"],
    }
    run = run_playbook(READ, simulator, env=env, extra_vars={"graph_auth_options": {"auth_method": "managed_identity"}})
    assert run.rc == 0, run.output


def test_access_token_from_elsewhere_reads_graph(simulator):
    env = {**without_secret(), "AZURE_CLIENT_ID": "", "AZURE_TENANT_ID": "", "ENTRA_ACCESS_TOKEN": simulator.token()}
    cursor = simulator.cursor()
    run = run_playbook(READ, simulator, env=env)
    assert run.rc == 0, run.output
    assert token_requests(simulator, cursor) == []


def test_wrong_secret_fails_with_the_aadsts_code_and_never_shows_the_secret(simulator):
    wrong = "Wr0ng~secret-value-that-must-not-leak"
    run = run_playbook(READ, simulator, env={"AZURE_CLIENT_SECRET": wrong}, verbosity=4)
    assert run.rc != 0
    assert "AADSTS7000215" in run.output
    assert "invalid_client" in run.output
    assert wrong not in run.output


def test_the_real_secret_never_appears_even_at_vvvv(simulator):
    run = run_playbook(READ, simulator, verbosity=4)
    assert run.rc == 0, run.output
    assert simulator.ready["client_secret"] not in run.output
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in run.output


def test_missing_permission_fails_with_status_code_message_and_request_id(simulator):
    readonly = app(simulator, "readonly")
    env = {"AZURE_CLIENT_ID": readonly["client_id"], "AZURE_CLIENT_SECRET": readonly["client_secret"]}
    run = run_playbook(HERE / "playbooks" / "create_group.yml", simulator, env=env, verbosity=1)
    assert run.rc != 0
    assert "Insufficient privileges to complete the operation." in run.output
    assert '"error_code": "Authorization_RequestDenied"' in run.output
    assert '"status": 403' in run.output
    assert '"request_id": "' in run.output
    assert readonly["client_secret"] not in run.output


def test_ca_bundle_wins_over_requests_ca_bundle(simulator):
    run = run_playbook(READ, simulator, env={"REQUESTS_CA_BUNDLE": SYSTEM_BUNDLE, "CURL_CA_BUNDLE": SYSTEM_BUNDLE})
    assert run.rc == 0, run.output


def test_without_ca_bundle_the_simulator_certificate_is_refused(simulator):
    run = run_playbook(READ, simulator, env={"ENTRA_CA_BUNDLE": "", "REQUESTS_CA_BUNDLE": SYSTEM_BUNDLE, "CURL_CA_BUNDLE": SYSTEM_BUNDLE})
    assert run.rc != 0
    assert "TLS verification failed" in run.output
    assert "ca_bundle" in run.output
