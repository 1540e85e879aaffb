// The two mails in German.
import type { MailText } from './en';

export const de: MailText = {
  greeting: 'Hallo {name},',
  resetSubject: 'Passwort zurücksetzen',
  resetIntro:
    'Jemand hat verlangt, das Passwort Ihres Kontos zurückzusetzen. Öffnen Sie diesen Link, um ein neues Passwort zu wählen:',
  resetButton: 'Neues Passwort wählen',
  resetExpiry: {
    one: 'Der Link gilt {n} Minute lang und nur einmal.',
    other: 'Der Link gilt {n} Minuten lang und nur einmal.',
  },
  resetIgnore:
    'Wenn Sie das nicht verlangt haben, ignorieren Sie diese E-Mail: Ihr Passwort bleibt, wie es ist.',
  changedSubject: 'Ihr Passwort wurde geändert',
  changedText: 'Das Passwort Ihres Kontos wurde soeben geändert.',
  changedWarning:
    'Wenn Sie das nicht waren, setzen Sie Ihr Passwort sofort zurück und informieren Sie Ihre Administration.',
};
