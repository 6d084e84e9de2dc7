# Copyright: contributors to entra.licensing
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# Options of ansible_collections.entra.licensing.plugins.module_utils.ldap.create_ldap_connection
# (declared in LDAP_CONNECTION_ARGSPEC there); keep the three in step.


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  server:
    description:
      - Host name or IP address of the domain controller to talk LDAP to.
      - With O(auth=kerberos) use the host name the DC's C(ldap/) service principal name is registered for.
      - Falls back to the E(AD_LDAP_SERVER) environment variable.
    type: str
  port:
    description:
      - TCP port. Defaults to V(636) with O(encryption=ldaps) and V(389) with O(encryption=start_tls).
      - Falls back to E(AD_LDAP_PORT).
    type: int
  encryption:
    description:
      - How the connection is encrypted; there is no unencrypted mode, since Active Directory refuses simple binds
        without transport encryption.
      - V(ldaps) is TLS from the first byte (LDAP over SSL, port 636).
      - V(start_tls) connects in clear to port 389 and upgrades with the StartTLS extended operation before binding.
      - Falls back to E(AD_LDAP_ENCRYPTION).
    type: str
    default: ldaps
    choices: [ldaps, start_tls]
  auth:
    description:
      - V(simple) binds with O(bind_dn) and O(bind_password).
      - V(kerberos) binds with SASL GSSAPI and needs the Python C(gssapi) package. It uses O(bind_dn) and
        O(bind_password) to get a ticket when a password is given (O(bind_dn) then being a user principal name such as
        C(svc-ansible@CORP.CONTOSO.COM)), else the ticket already in the credential cache (C(kinit), E(KRB5CCNAME)).
      - Falls back to E(AD_LDAP_AUTH).
    type: str
    default: simple
    choices: [simple, kerberos]
  bind_dn:
    description:
      - The account to bind as, given as a distinguished name (C(CN=svc-ansible,OU=Service Accounts,DC=corp,DC=contoso,DC=com)),
        a user principal name (C(svc-ansible@corp.contoso.com)) or C(DOMAIN\user).
      - Falls back to E(AD_BIND_DN).
    type: str
  bind_password:
    description:
      - The password of O(bind_dn).
      - Falls back to E(AD_BIND_PASSWORD).
    type: str
  ca_bundle:
    description:
      - A PEM file with the CA certificates to verify the domain controller's certificate with (for example your
        enterprise CA). Without it the system's trusted CAs are used.
      - The certificate must also name O(server) (as a DNS name or an IP address).
      - Falls back to E(AD_CA_BUNDLE).
    type: path
  validate_certs:
    description:
      - Whether to verify the domain controller's TLS certificate and host name. Set V(false) only in labs; the
        module warns when it is.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for the connection and for each LDAP response.
    type: float
    default: 30
requirements:
  - ldap3 >= 2.9
  - gssapi (only for O(auth=kerberos))
notes:
  - These options can be set once for every LDAP module of a play with C(module_defaults) and the action group
    C(group/entra.licensing.ad).
"""
