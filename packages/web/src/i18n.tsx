import { createContext, type ReactNode, useContext, useMemo, useState } from 'react';
import { en } from './locales/en';
import { fr } from './locales/fr';

export type Lang = 'en' | 'fr';
export type MessageKey = keyof typeof en;
const DICTS: Record<Lang, Record<MessageKey, string>> = { en, fr };
const STORAGE_KEY = 'tessera.lang';

interface I18n {
  lang: Lang;
  setLang(lang: Lang): void;
  /** The message in the current language, `{name}` placeholders filled. */
  t(key: MessageKey, vars?: Record<string, string | number>): string;
  /** A date and time in the current language. */
  dateTime(iso: string | null | undefined): string;
  number(n: number): string;
}

const Context = createContext<I18n | null>(null);

function initialLang(): Lang {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved === 'en' || saved === 'fr') return saved;
  return navigator.language.toLowerCase().startsWith('fr') ? 'fr' : 'en';
}

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const value = useMemo<I18n>(() => {
    const locale = lang === 'fr' ? 'fr-FR' : 'en-GB';
    const dtf = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
    const nf = new Intl.NumberFormat(locale);
    return {
      lang,
      setLang(l) {
        localStorage.setItem(STORAGE_KEY, l);
        document.documentElement.lang = l;
        setLangState(l);
      },
      t(key, vars) {
        let s = DICTS[lang][key] ?? en[key] ?? key;
        if (vars) for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
        return s;
      },
      dateTime: (iso) => (iso ? dtf.format(new Date(iso)) : '—'),
      number: (n) => nf.format(n),
    };
  }, [lang]);
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function useI18n(): I18n {
  const ctx = useContext(Context);
  if (!ctx) throw new Error('useI18n outside I18nProvider');
  return ctx;
}
