//! Azure Blob Storage (or Azurite, or a sovereign cloud, through `azure_endpoint`).

use std::sync::Arc;

use object_store::azure::MicrosoftAzureBuilder;

use super::fields::{
    CAN_DELETE, EXPORT_LAYOUT, FieldSpec, PREFIX_EXPORT, PREFIX_IMPORT, PRESIGN, PRESIGN_TTL,
    RECURSIVE_SCAN, REGEX_FILTER, REIMPORT_CHANGED, REMOVE_VANISHED, SYNC_INTERVAL, USE_BLOB_URLS,
    secret, text,
};
use super::object::{ObjectStorage, client_options, config_error, required, retry};
use super::provider::{Provider, UriScheme, as_given, no_check};
use super::{ProviderContext, Storage, StorageError, StorageSettings};

const FIELDS: &[FieldSpec] = &[
    text("container", "Container Name", "my-azure-container").required(),
    FieldSpec {
        label: "Container Prefix (optional)",
        ..PREFIX_IMPORT
    },
    FieldSpec {
        label: "Container Prefix",
        ..PREFIX_EXPORT
    },
    REGEX_FILTER,
    USE_BLOB_URLS,
    RECURSIVE_SCAN,
    secret("account_name", "Account Name", "mystorageaccount"),
    secret("account_key", "Account Key", "Your storage account key"),
    text(
        "azure_endpoint",
        "Blob Endpoint",
        "https://<account>.blob.core.windows.net (default)",
    ),
    PRESIGN,
    PRESIGN_TTL,
    CAN_DELETE,
    EXPORT_LAYOUT,
    SYNC_INTERVAL,
    REMOVE_VANISHED,
    REIMPORT_CHANGED,
];

pub const PROVIDER: Provider = Provider {
    name: "azure",
    title: "Microsoft Azure",
    label: "Azure Blob Storage",
    description: "Azure Blob Storage containers, with an account key",
    uri: Some(UriScheme {
        scheme: "azure-blob",
        bucket_field: "container",
    }),
    location_field: "prefix",
    card: &[("Container", "container")],
    fields: FIELDS,
    check: no_check,
    normalize: as_given,
    open,
};

fn open(
    settings: &StorageSettings,
    ctx: &ProviderContext,
) -> Result<Arc<dyn Storage>, StorageError> {
    let env = &ctx.cloud;
    let container = required(settings, "container", "Azure")?;
    let account = settings
        .secret("account_name")
        .or(env.azure_account_name.as_deref());
    let key = settings
        .secret("account_key")
        .or(env.azure_account_key.as_deref());
    let (Some(account), Some(key)) = (account, key) else {
        return Err(StorageError::misconfigured(
            "Azure account name and key must be set using environment variables AZURE_BLOB_ACCOUNT_NAME and AZURE_BLOB_ACCOUNT_KEY or account_name and account_key fields.".to_owned(),
        ));
    };
    let endpoint = settings.text("azure_endpoint");
    let mut builder = MicrosoftAzureBuilder::new()
        .with_account(account)
        .with_access_key(key)
        .with_container_name(container)
        .with_client_options(client_options(endpoint))
        .with_retry(retry());
    if let Some(endpoint) = endpoint {
        builder = builder
            .with_endpoint(endpoint.to_owned())
            .with_allow_http(endpoint.starts_with("http://"));
    }
    let store = builder.build().map_err(|err| config_error("Azure", &err))?;
    Ok(Arc::new(ObjectStorage::new(
        store,
        "azure-blob",
        "Azure",
        container,
        settings,
    )))
}
