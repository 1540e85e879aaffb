// The two mails in French.
import type { MailText } from './en';

export const fr: MailText = {
  greeting: 'Bonjour {name},',
  resetSubject: 'Réinitialisez votre mot de passe',
  resetIntro:
    'Quelqu’un a demandé la réinitialisation du mot de passe de votre compte. Pour choisir un nouveau mot de passe, ouvrez ce lien :',
  resetButton: 'Choisir un nouveau mot de passe',
  resetExpiry: {
    one: 'Le lien est valable {n} minute, une seule fois.',
    other: 'Le lien est valable {n} minutes, une seule fois.',
  },
  resetIgnore:
    'Si vous n’êtes pas à l’origine de cette demande, ignorez cet e-mail : votre mot de passe reste inchangé.',
  changedSubject: 'Votre mot de passe a été changé',
  changedText: 'Le mot de passe de votre compte vient d’être changé.',
  changedWarning:
    'Si ce n’était pas vous, réinitialisez votre mot de passe immédiatement et prévenez votre administrateur.',
};
