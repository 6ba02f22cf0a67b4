import { describe, expect, it } from 'vitest';
import { createDemoRandom } from './demo-random.js';
import { emailVariant } from './email-variant.js';
import { uniqueEmail } from './unique-email.js';

describe('emailVariant', () => {
  it('normalises (trim + lower case) back to the original and varies its form', () => {
    const rnd = createDemoRandom(3, new Date('2025-06-01T00:00:00Z'));
    const forms = Array.from({ length: 100 }, () => emailVariant(rnd, 'jane.doe@example.com'));
    for (const form of forms) expect(form.trim().toLowerCase()).toBe('jane.doe@example.com');
    expect(forms).toContain('Jane.Doe@Example.COM');
    expect(forms.some((f) => f !== f.trim())).toBe(true);
    expect(forms.some((f) => f.trim() === 'JANE.DOE@EXAMPLE.COM')).toBe(true);
  });
});

describe('uniqueEmail', () => {
  it('builds lower-case ASCII addresses on reserved domains, never twice', () => {
    const rnd = createDemoRandom(3, new Date('2025-06-01T00:00:00Z'));
    const used = new Set<string>();
    const emails = Array.from({ length: 50 }, () => uniqueEmail(rnd, 'Émérance', "O'Brien-Légère", used));
    expect(new Set(emails).size).toBe(50);
    for (const e of emails) expect(e).toMatch(/^[a-z0-9._]+@example\.(com|net|org)$/);
  });
});
