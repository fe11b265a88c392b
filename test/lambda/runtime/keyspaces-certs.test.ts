import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyspacesRootCertificates } from '../../../lambda/runtime/cassandra-client';
import { KEYSPACES_CERT_FILES, renderCertsModule } from '../../../lambda/runtime/certs/files';

const runtime = path.resolve(__dirname, '../../../lambda/runtime');

/**
 * The documented list: the Keyspaces guide's "Before you begin" (Amazon Root CA 1-4, and Starfield Class 2
 * "optional - for backward compatibility"), with each certificate's SHA-256 fingerprint, and for the Amazon
 * roots the SHA-256 of the subject public key that https://www.amazontrust.com/repository/ publishes.
 * https://docs.aws.amazon.com/keyspaces/latest/devguide/using_nodejs_driver.html
 */
const DOCUMENTED = [
  {
    file: 'AmazonRootCA1.pem',
    subject: 'C=US\nO=Amazon\nCN=Amazon Root CA 1',
    sha256: '8E:CD:E6:88:4F:3D:87:B1:12:5B:A3:1A:C3:FC:B1:3D:70:16:DE:7F:57:CC:90:4F:E1:CB:97:C6:AE:98:19:6E',
    spki: 'fbe3018031f9586bcbf41727e417b7d1c45c2f47f93be372a17b96b50757d5a2',
  },
  {
    file: 'AmazonRootCA2.pem',
    subject: 'C=US\nO=Amazon\nCN=Amazon Root CA 2',
    sha256: '1B:A5:B2:AA:8C:65:40:1A:82:96:01:18:F8:0B:EC:4F:62:30:4D:83:CE:C4:71:3A:19:C3:9C:01:1E:A4:6D:B4',
    spki: '7f4296fc5b6a4e3b35d3c369623e364ab1af381d8fa7121533c9d6c633ea2461',
  },
  {
    file: 'AmazonRootCA3.pem',
    subject: 'C=US\nO=Amazon\nCN=Amazon Root CA 3',
    sha256: '18:CE:6C:FE:7B:F1:4E:60:B2:E3:47:B8:DF:E8:68:CB:31:D0:2E:BB:3A:DA:27:15:69:F5:03:43:B4:6D:B3:A4',
    spki: '36abc32656acfc645c61b71613c4bf21c787f5cabbee48348d58597803d7abc9',
  },
  {
    file: 'AmazonRootCA4.pem',
    subject: 'C=US\nO=Amazon\nCN=Amazon Root CA 4',
    sha256: 'E3:5D:28:41:9E:D0:20:25:CF:A6:90:38:CD:62:39:62:45:8D:A5:C6:95:FB:DE:A3:C2:2B:0B:FB:25:89:70:92',
    spki: 'f7ecded5c66047d28ed6466b543c40e0743abe81d109254dcf845d4c2c7853c5',
  },
  {
    file: 'sf-class2-root.crt',
    subject: 'C=US\nO=Starfield Technologies\\, Inc.\nOU=Starfield Class 2 Certification Authority',
    sha256: '14:65:FA:20:53:97:B8:76:FA:A6:F0:A9:95:8E:55:90:E4:0F:CC:7F:AA:4F:B7:C2:C8:67:75:21:FB:5F:B6:58',
    spki: undefined,
  },
] as const;

const spkiSha256 = (cert: X509Certificate): string =>
  createHash('sha256')
    .update(cert.publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');

describe('the Keyspaces root certificates', () => {
  it('are the files the guide downloads, in its order', () => {
    expect([...KEYSPACES_CERT_FILES]).toEqual(DOCUMENTED.map((d) => d.file));
  });

  it.each(DOCUMENTED)('$file is the documented self-signed root, by subject, fingerprint and key', (d) => {
    const cert = new X509Certificate(readFileSync(path.join(runtime, 'certs', d.file)));
    expect(cert.subject).toBe(d.subject);
    expect(cert.issuer).toBe(d.subject);
    expect(cert.ca).toBe(true);
    expect(cert.fingerprint256).toBe(d.sha256);
    if (d.spki) expect(spkiSha256(cert)).toBe(d.spki);
  });

  it('are exactly what the keyspaces target pins: the five documented roots, nothing from the Node store', () => {
    const pinned = keyspacesRootCertificates().map((pem) => new X509Certificate(pem).fingerprint256);
    expect(pinned).toEqual(DOCUMENTED.map((d) => d.sha256));
  });

  it('reach the bundles through keyspaces-certs.ts, which is generated from the files unchanged', () => {
    const pems = KEYSPACES_CERT_FILES.map((f) => readFileSync(path.join(runtime, 'certs', f), 'utf8'));
    expect(
      readFileSync(path.join(runtime, 'keyspaces-certs.ts'), 'utf8'),
      'lambda/runtime/keyspaces-certs.ts is stale: run `npx tsx scripts/keyspaces-certs.ts`',
    ).toBe(renderCertsModule(pems));
  });
});
