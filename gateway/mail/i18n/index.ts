// The mails' languages: one catalogue each, in the same languages as the reset page (page/i18n/).
import type { Language } from '../../../page/i18n';
import { de } from './de';
import { en } from './en';
import type { MailText } from './en';
import { es } from './es';
import { fr } from './fr';

export type { MailText } from './en';

export const MAIL_CATALOGUES: Readonly<Record<Language, MailText>> = { en, de, fr, es };
