// The storage providers the wizard offers: titles, the fields of each connection form, and
// where a card finds the storage's location. Field names are the API's (Label Studio's).

const PRESIGN = [
  { name: 'presign', label: 'Use pre-signed URLs (On) / Proxy through the platform (Off)', type: 'toggle', applies: 'import', default: true,
    help: 'When pre-signed URLs are enabled, all data bypasses the platform and user browsers directly read data from storage', keepsTest: true },
  { name: 'presign_ttl', label: 'Expire pre-signed URLs (minutes)', type: 'number', applies: 'import', default: 15, min: 1, max: 10080, keepsTest: true },
];
const TARGET_PREFIX = { name: 'prefix', label: 'Bucket Prefix', placeholder: 'path/to/annotations', applies: 'export' };
const CAN_DELETE = { name: 'can_delete_objects', label: 'Can delete objects from storage', type: 'toggle', applies: 'export', default: false,
  help: 'If unchecked, annotations will not be deleted from storage' };

export const PROVIDERS = [
  {
    name: 's3', title: 'Amazon S3', description: 'Amazon S3 and S3-compatible stores (MinIO, Ceph, Backblaze B2, ...)',
    location: [['Bucket', 'bucket']],
    fields: [
      { name: 'bucket', label: 'Bucket Name', placeholder: 'my-storage-bucket', required: true },
      TARGET_PREFIX,
      { name: 'region_name', label: 'Region Name', placeholder: 'us-east-1 (default)' },
      { name: 's3_endpoint', label: 'S3 Endpoint', placeholder: 'https://s3.amazonaws.com (default)' },
      { name: 'aws_access_key_id', label: 'Access Key ID', placeholder: 'AKIAIOSFODNN7EXAMPLE', secret: true,
        help: 'Leave both keys empty to use the server\'s AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY' },
      { name: 'aws_secret_access_key', label: 'Secret Access Key', placeholder: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', secret: true },
      { name: 'aws_session_token', label: 'Session Token', placeholder: 'Session token (optional)', secret: true },
      { name: 'aws_sse_kms_key_id', label: 'SSE KMS Key ID', placeholder: 'KMS key id (optional)', applies: 'export' },
      ...PRESIGN, CAN_DELETE,
    ],
  },
  {
    name: 'gcs', title: 'Google Cloud Storage', description: 'Google Cloud Storage buckets, with a service account key',
    location: [['Bucket', 'bucket']],
    fields: [
      { name: 'bucket', label: 'Bucket Name', placeholder: 'my-storage-bucket', required: true },
      TARGET_PREFIX,
      { name: 'google_application_credentials', label: 'Google Application Credentials', type: 'textarea', secret: true,
        placeholder: 'Paste the contents of credentials.json here OR leave blank to use the server\'s GOOGLE_APPLICATION_CREDENTIALS' },
      { name: 'google_project_id', label: 'Google Project ID', placeholder: 'Leave blank to inherit from the Google Application Credentials' },
      { name: 'gcs_endpoint', label: 'GCS Endpoint', placeholder: 'https://storage.googleapis.com (default)' },
      ...PRESIGN, CAN_DELETE,
    ],
  },
  {
    name: 'azure', title: 'Azure Blob Storage', description: 'Azure Blob Storage containers, with an account key',
    location: [['Container', 'container']],
    fields: [
      { name: 'container', label: 'Container Name', placeholder: 'my-azure-container', required: true },
      { ...TARGET_PREFIX, label: 'Container Prefix' },
      { name: 'account_name', label: 'Account Name', placeholder: 'mystorageaccount', secret: true },
      { name: 'account_key', label: 'Account Key', placeholder: 'Your storage account key', secret: true },
      { name: 'azure_endpoint', label: 'Blob Endpoint', placeholder: 'https://<account>.blob.core.windows.net (default)' },
      ...PRESIGN, CAN_DELETE,
    ],
  },
  {
    name: 'redis', title: 'Redis Storage', description: 'Keys of a Redis database holding task JSON',
    location: [['Path', 'path'], ['Host', (s) => `${s.host || 'localhost'}:${s.port || 6379}`]],
    fields: [
      { name: 'host', label: 'Host', placeholder: 'localhost', required: true },
      { name: 'port', label: 'Port', placeholder: '6379' },
      { name: 'db', label: 'Database Number (db)', type: 'number', min: 1, max: 15, defaultFor: { import: 1, export: 2 },
        help: 'Database 0 is refused: it is where other programs keep their keys' },
      { name: 'password', label: 'Password', placeholder: 'Your redis password', secret: true },
      { name: 'path', label: 'Key prefix', placeholder: 'annotations/', applies: 'export' },
      CAN_DELETE,
    ],
    importPrefix: { name: 'path', label: 'Path to Files (optional)', help: 'Key prefix scanned for tasks' },
  },
  {
    name: 'localfiles', title: 'Local Files', description: 'A directory on the server, under its document root',
    location: [['Path', 'path']],
    fields: [
      { name: 'path', label: 'Absolute local path', required: true, localPath: true },
      CAN_DELETE,
    ],
    importPrefix: null,
  },
];

/** Presented but not available: shown disabled, as in Label Studio Community. */
export const ENTERPRISE_PROVIDERS = [
  { title: 'Amazon S3 with IAM Role', description: 'Cross-account IAM role access' },
  { title: 'Google Cloud Storage (WIF Auth)', description: 'Workload identity federation' },
  { title: 'Azure Blob Storage with Service Principal', description: 'Service principal (proxy only)' },
];

export function providerByName(name) {
  return PROVIDERS.find((p) => p.name === name);
}

/** Connection-step fields for one direction. */
export function connectionFields(provider, direction) {
  return provider.fields.filter((f) => !f.applies || f.applies === direction);
}

/** The field the import step edits as the prefix (absent for Local Files). */
export function importPrefixField(provider) {
  if (provider.importPrefix === null) return null;
  return provider.importPrefix || { name: 'prefix', label: 'Bucket Prefix (optional)',
    help: 'Specify the folder path within your bucket where your files are located', placeholder: 'path/to/files/ or leave empty for root' };
}

/** The card's location lines: [label, value]. */
export function locationOf(storage) {
  const provider = providerByName(storage.type);
  if (!provider) return [];
  return provider.location.map(([label, field]) => [label, typeof field === 'function' ? field(storage) : storage[field] || '']);
}
