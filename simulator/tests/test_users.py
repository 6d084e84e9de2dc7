"""Users through Graph: lookups by id and UPN, default and selected properties, filters, paging, updates."""

from __future__ import annotations

from conftest import ADELE, E3, JONI, MEGAN, SALES_DYNAMIC, error_of

from entra_sim.model.schema import USER_DEFAULT
from entra_sim.odata import quote


def test_get_by_id_or_case_insensitive_upn_returns_the_default_properties(graph):
    by_upn = graph.get("/users/meganb@CONTOSO.onmicrosoft.com").json()
    assert by_upn["id"] == MEGAN
    assert list(by_upn) == ["@odata.context", *USER_DEFAULT]
    assert by_upn["@odata.context"].endswith("$metadata#users/$entity")
    assert graph.get(f"/users/{MEGAN}").json() == by_upn


def test_licence_properties_and_usage_location_only_appear_when_selected(graph):
    user = graph.get(f"/users/{MEGAN}?$select=id,usageLocation,assignedLicenses,licenseAssignmentStates").json()
    assert user["usageLocation"] == "US" and user["assignedLicenses"] == [{"disabledPlans": [], "skuId": E3}]
    assert user["licenseAssignmentStates"][0]["assignedByGroup"] is None
    assert error_of(graph.get(f"/users/{MEGAN}?$select=id,bogus")) == (
        400, "BadRequest", "Could not find a property named 'bogus' on type 'microsoft.graph.user'.")


def test_unknown_user_returns_404(graph):
    assert error_of(graph.get("/users/nobody@contoso.onmicrosoft.com")) == (
        404, "Request_ResourceNotFound", "Resource 'nobody@contoso.onmicrosoft.com' does not exist or one of its "
                                         "queried reference-property objects are not present.")


def test_filters_by_attribute_and_by_licence(graph):
    sales = graph.get("/users?$filter=department eq 'Sales'&$select=id").json()["value"]
    assert len(sales) == 3
    licensed = graph.get(f"/users?$filter=assignedLicenses/any(x:x/skuId eq {E3})&$select=id").json()["value"]
    assert licensed == [{"id": MEGAN}]
    missing = graph.get("/users?$filter=usageLocation eq null&$count=true&$select=id",
                        headers={"ConsistencyLevel": "eventual"}).json()
    assert missing["@odata.count"] == 3 and JONI in [u["id"] for u in missing["value"]]


def test_pages_of_users_follow_next_links_and_count_only_on_the_first_page(graph):
    first = graph.get("/users?$top=5&$count=true&$select=id", headers={"ConsistencyLevel": "eventual"}).json()
    assert first["@odata.count"] == 14
    ids = [u["id"] for u in first["value"]]
    url = first["@odata.nextLink"]
    while url:
        page = graph.get(url, headers={"ConsistencyLevel": "eventual"}).json()
        assert "@odata.count" not in page
        ids += [u["id"] for u in page["value"]]
        url = page.get("@odata.nextLink")
    assert len(ids) == len(set(ids)) == 14


def test_order_by_display_name_descending(graph):
    names = [u["displayName"] for u in graph.get("/users?$orderby=displayName desc&$select=displayName&$top=3").json()[
        "value"]]
    assert names == ["Pradeep Gupta", "Patti Fernandez", "Nestor Wilke"]
    assert error_of(graph.get("/users?$orderby=department"))[2] == "Sorting not supported for current query."


def test_patch_usage_location_and_the_checks_on_other_properties(graph):
    assert graph.patch(f"/users/{JONI}", {"usageLocation": "nl"}).status_code == 204
    assert graph.user(JONI)["usageLocation"] == "NL"
    assert error_of(graph.patch(f"/users/{JONI}", {"usageLocation": "Netherlands"})) == (
        400, "Request_BadRequest", "Invalid value specified for property 'usageLocation' of resource 'User'.")
    assert error_of(graph.patch(f"/users/{JONI}", {"favouriteColour": "blue"}))[2] == (
        "The property 'favouriteColour' does not exist on type 'microsoft.graph.user'. Make sure to only use property "
        "names that are defined by the type.")
    assert error_of(graph.patch(f"/users/{JONI}", {"assignedLicenses": []}))[2] == (
        "Property 'assignedLicenses' is read-only and cannot be set.")
    assert error_of(graph.patch(f"/users/{JONI}", {"userPrincipalName": "AdeleV@contoso.onmicrosoft.com"})) == (
        400, "Request_BadRequest", "Another object with the same value for property userPrincipalName already exists.")
    assert graph.patch(f"/users/{JONI}", {"userPrincipalName": "joni@contoso.onmicrosoft.com"}).status_code == 204
    assert graph.get("/users/joni@contoso.onmicrosoft.com").json()["id"] == JONI


def test_member_of_lists_the_users_groups(graph):
    groups = graph.get(f"/users/{ADELE}/memberOf?$select=id,displayName").json()
    assert groups["value"] == [{"@odata.type": "#microsoft.graph.group", "id": SALES_DYNAMIC,
                                "displayName": "Sales Team (dynamic)"}]


def test_organization_and_subscribed_skus(graph):
    org = graph.get("/organization").json()["value"][0]
    assert org["id"] == graph.ready["tenant_id"] and org["countryLetterCode"] == "US"
    assert org["verifiedDomains"][0]["name"] == "contoso.onmicrosoft.com"
    skus = graph.get("/subscribedSkus").json()["value"]
    e3 = next(s for s in skus if s["skuPartNumber"] == "ENTERPRISEPACK")
    assert e3["id"] == f"{graph.ready['tenant_id']}_{E3}" and e3["prepaidUnits"] == {
        "enabled": 25, "lockedOut": 0, "suspended": 0, "warning": 0}
    assert e3["consumedUnits"] == 1 and e3["capabilityStatus"] == "Enabled" and e3["appliesTo"] == "User"
    assert {"servicePlanId", "servicePlanName", "provisioningStatus", "appliesTo"} == set(e3["servicePlans"][0])
    assert error_of(graph.get("/subscribedSkus?$filter=skuPartNumber eq 'X'"))[0] == 400
    assert graph.get("/subscribedSkus?$select=skuPartNumber").json()["value"][0] == {"skuPartNumber": "ENTERPRISEPACK"}


def test_directory_objects_by_id_and_get_by_ids_type_each_object(graph):
    user = graph.get(f"/directoryObjects/{ADELE}?$select=id,userPrincipalName").json()
    assert user == {"@odata.context": f"{graph.base}/v1.0/$metadata#directoryObjects/$entity",
                    "@odata.type": "#microsoft.graph.user", "id": ADELE,
                    "userPrincipalName": "AdeleV@contoso.onmicrosoft.com"}
    group = graph.get(f"/directoryObjects/{SALES_DYNAMIC}").json()
    assert group["@odata.type"] == "#microsoft.graph.group" and group["displayName"] == "Sales Team (dynamic)"
    missing = "a1000000-0000-4000-8000-000000009999"
    assert error_of(graph.get(f"/directoryObjects/{missing}"))[:2] == (404, "Request_ResourceNotFound")
    found = graph.post("/directoryObjects/getByIds", {"ids": [ADELE, missing, SALES_DYNAMIC], "types": ["user"]})
    assert [(o["@odata.type"], o["id"]) for o in found.json()["value"]] == [("#microsoft.graph.user", ADELE)]


def test_odata_key_syntax_addresses_a_user_by_upn(graph):
    assert graph.get("/users('AdeleV%40contoso.onmicrosoft.com')?$select=id").json()["id"] == ADELE
    assert graph.get(f"/users('{MEGAN}')/licenseDetails").status_code == 200


def test_an_in_list_takes_fifteen_values_unless_the_query_is_advanced(graph):
    upns = [f"'user{n}@contoso.onmicrosoft.com'" for n in range(15)]
    assert graph.get(f"/users?$filter=userPrincipalName in ({','.join(upns)})&$select=id").status_code == 200
    values = ",".join([*upns, quote("AdeleV@contoso.onmicrosoft.com")])
    sixteen = f"/users?$filter=userPrincipalName in ({values})&$select=id"
    assert error_of(graph.get(sixteen)) == (
        400, "Request_UnsupportedQuery",
        "Too many child clauses specified in search filter expression containing 'OR' operators: 16. Max allowed: 15.")
    advanced = graph.get(sixteen + "&$count=true", headers={"ConsistencyLevel": "eventual"}).json()
    assert [u["id"] for u in advanced["value"]] == [ADELE]


def test_an_eq_value_matches_at_most_120_characters_unless_the_query_is_advanced(graph):
    long_name = "x" * 121
    assert error_of(graph.get(f"/groups?$filter=displayName eq '{long_name}'"))[:2] == (400, "Request_UnsupportedQuery")
    assert graph.get(f"/groups?$filter=displayName eq '{'x' * 120}'").status_code == 200
    advanced = graph.get(f"/groups?$filter=displayName eq '{long_name}'&$count=true",
                         headers={"ConsistencyLevel": "eventual"})
    assert advanced.status_code == 200 and advanced.json()["value"] == []
