// The reset page in German.
import type { PageText } from './en';

export const de: PageText = {
  title: 'Neues Passwort wählen',
  noscript:
    'Diese Seite braucht JavaScript, um Ihr Passwort zu ändern. Schalten Sie es ein und öffnen Sie den Link erneut.',
  formLead: 'Geben Sie ein neues Passwort für Ihr Konto ein. Sie verwenden es bei Ihrer nächsten Anmeldung.',
  passwordLabel: 'Neues Passwort',
  rulesTitle: 'Ihr neues Passwort muss:',
  ruleLength: 'mindestens {min} und höchstens {max} Zeichen lang sein',
  ruleNotOwn: 'weder Ihr Benutzername noch Ihre E-Mail-Adresse sein und keines von beiden enthalten',
  ruleNotCommon: 'kein häufig verwendetes Passwort sein',
  confirmLabel: 'Neues Passwort bestätigen',
  showPasswords: 'Passwörter anzeigen',
  submit: 'Neues Passwort speichern',
  saving: 'Wird gespeichert…',
  savingStatus: 'Ihr neues Passwort wird gespeichert…',
  tooShort: { one: 'Verwenden Sie mindestens {n} Zeichen.', other: 'Verwenden Sie mindestens {n} Zeichen.' },
  tooLong: { one: 'Verwenden Sie höchstens {n} Zeichen.', other: 'Verwenden Sie höchstens {n} Zeichen.' },
  mismatch: 'Die beiden Passwörter stimmen nicht überein.',
  rejectedOwn: 'Verwenden Sie Ihren Benutzernamen oder Ihre E-Mail-Adresse nicht im Passwort.',
  rejectedCommon: 'Dieses Passwort ist zu verbreitet. Wählen Sie ein weniger vorhersehbares.',
  rejected: 'Dieses Passwort kann nicht verwendet werden. Wählen Sie ein anderes.',
  successHeading: 'Passwort geändert',
  successText: 'Ihr Passwort wurde geändert. Melden Sie sich ab jetzt mit Ihrem neuen Passwort an.',
  successClose: 'Sie können diese Seite jetzt schließen.',
  successContinue: 'Weiter zur Anmeldung',
  invalidHeading: 'Dieser Link ist ungültig oder abgelaufen',
  invalidText:
    'Ein Link zum Zurücksetzen funktioniert einmal und nur für begrenzte Zeit. Fordern Sie eine neue E-Mail an und öffnen Sie den Link darin.',
  invalidHint:
    'Wenn Sie Ihr Passwort gerade mit diesem Link geändert haben, ist er verbraucht: Melden Sie sich mit dem neuen an.',
  unreachableHeading: 'Der Server ist nicht erreichbar',
  unreachableText:
    'Ihr Passwort wurde noch nicht geändert. Prüfen Sie Ihre Verbindung und versuchen Sie es erneut.',
  noAnswerHeading: 'Keine Antwort vom Server',
  noAnswerText:
    'Wir konnten die Änderung nicht bestätigen. Versuchen Sie es erneut; meldet der Link dann, dass er verwendet wurde, ist Ihr neues Passwort bereits gesetzt.',
  failedHeading: 'Etwas ist schiefgegangen',
  failedText: 'Ihr Passwort wurde nicht geändert. Versuchen Sie es gleich noch einmal.',
  retry: 'Erneut versuchen',
  retrying: 'Neuer Versuch…',
};
