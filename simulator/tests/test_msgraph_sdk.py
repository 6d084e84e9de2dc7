"""Microsoft's Graph Python SDK (msgraph-sdk + azure-identity) against the simulator, as recipes section 4 sets
it up: custom authority, no instance discovery, allowed host, own base URL, the simulator's CA."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from azure.identity import ClientSecretCredential
from conftest import ADELE, E3, EXCHANGE_S_ENTERPRISE
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.groups.item.assign_license.assign_license_post_request_body import (
    AssignLicensePostRequestBody,
)
from msgraph.generated.models.assigned_license import AssignedLicense
from msgraph.generated.models.group import Group
from msgraph.generated.models.reference_create import ReferenceCreate
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph_core import GraphClientFactory

from entra_sim.testing import admin

# The SDK's generated request builders warn about their own deprecated classes.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_graph_sdk_lists_skus_creates_a_group_adds_a_member_assigns_and_removes_a_licence_and_deletes(ready,
                                                                                                       monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ready["ca_bundle"])  # azure-identity's transport reads it
    base = ready["graph_endpoint"]
    credential = ClientSecretCredential(ready["tenant_id"], ready["client_id"], ready["client_secret"],
                                        authority=ready["authority_host"], disable_instance_discovery=True)
    auth = AzureIdentityAuthenticationProvider(credential, scopes=[f"{base}/.default"], allowed_hosts=["127.0.0.1"])

    async def scenario() -> None:
        http = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(verify=ready["ca_bundle"]))
        adapter = GraphRequestAdapter(auth, client=http)
        adapter.base_url = f"{base}/v1.0"
        client = GraphServiceClient(request_adapter=adapter)

        skus = await client.subscribed_skus.get()
        assert {s.sku_part_number for s in skus.value} == {"ENTERPRISEPACK", "EXCHANGESTANDARD", "AAD_PREMIUM"}

        group = await client.groups.post(Group(display_name="SDK group", mail_enabled=False, mail_nickname="sdk",
                                               security_enabled=True, group_types=[]))
        assert group.id and group.security_enabled
        groups = client.groups.by_group_id(group.id)
        await groups.members.ref.post(ReferenceCreate(odata_id=f"{base}/v1.0/directoryObjects/{ADELE}"))
        members = await groups.members.get()
        assert [m.id for m in members.value] == [ADELE]

        licence = AssignedLicense(sku_id=uuid.UUID(E3), disabled_plans=[uuid.UUID(EXCHANGE_S_ENTERPRISE)])
        await groups.assign_license.post(AssignLicensePostRequestBody(add_licenses=[licence], remove_licenses=[]))
        admin(ready, "POST", "/settle")
        select = RequestConfiguration(query_parameters=UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
            select=["id", "assignedLicenses", "licenseAssignmentStates"]))
        user = await client.users.by_user_id(ADELE).get(request_configuration=select)
        assert [(str(a.sku_id), [str(p) for p in a.disabled_plans]) for a in user.assigned_licenses] == [
            (E3, [EXCHANGE_S_ENTERPRISE])]
        assert user.license_assignment_states[0].assigned_by_group == group.id

        await groups.assign_license.post(AssignLicensePostRequestBody(add_licenses=[], remove_licenses=[uuid.UUID(E3)]))
        admin(ready, "POST", "/settle")
        user = await client.users.by_user_id(ADELE).get(request_configuration=select)
        assert user.assigned_licenses == []

        await groups.delete()
        assert all(g.id != group.id for g in (await client.groups.get()).value)
        await http.aclose()

    asyncio.run(scenario())
