/**
 * Every text the portal shows or mails, in one catalogue, so that a locale is one more object of
 * this shape. Templates read `it.t`; nothing in a template or a route is written in English.
 */
export const en = {
  lang: 'en',
  portal: 'Customer portal',
  skip: 'Skip to content',
  testBanner: 'Test mode: nothing here is real, and no real customer sees it.',
  testSubjectPrefix: '[TEST] ',
  fields: {
    email: 'Email address',
    first_name: 'First name',
    last_name: 'Last name',
    phone: 'Phone',
    company_name: 'Company name',
    code: 'Code',
  },
  notGiven: 'Not given',
  errorsTitle: 'There is a problem',
  fieldErrors: {
    required: 'Enter your email address.',
    email: 'Enter an email address like name@example.com.',
    tooLong: (max: number) => `Use at most ${max} characters.`,
    invalid: 'This contains characters that cannot be used.',
    sameEmail: 'This is already your email address.',
    code: 'Enter the 6-digit code from the email.',
    wrongCode: 'That code is not right, or it has expired. Check the latest email, or ask for a new one.',
  },
  login: {
    title: 'Sign in',
    intro: (merchant: string) =>
      `Enter the email address you use with ${merchant}. We will email you a link and a code to sign in.`,
    submit: 'Email me a sign-in link',
  },
  check: {
    title: 'Check your inbox',
    body: 'If that address belongs to an account here, we have sent it an email with a sign-in link and a 6-digit code. They work for 15 minutes, once.',
    codeIntro: 'Type the code here, or open the link in the email.',
    submit: 'Sign in with the code',
    again: 'Use another address, or ask for a new email',
  },
  link: {
    title: 'Sign in',
    body: (merchant: string) => `Press the button to sign in to your account with ${merchant}.`,
    submit: 'Sign in',
    confirmTitle: 'Confirm your new email address',
    confirmBody: (merchant: string) => `Press the button to make this your email address with ${merchant}.`,
    confirmSubmit: 'Confirm this address',
  },
  choose: {
    title: 'Choose an account',
    body: 'Several accounts use this email address. Which one do you want to see?',
    unnamed: 'Account without a name',
    submit: 'Continue',
  },
  overview: {
    title: 'Your details',
    edit: 'Change your details',
    email: 'Change your email address',
    back: (merchant: string) => `Back to ${merchant}`,
    signOut: 'Sign out',
    signOutAll: 'Sign out everywhere',
    signOutAllHint: 'Ends every session of your account, on every device.',
    saved: 'Your details have been saved.',
    emailChanged: 'Your email address has been changed.',
  },
  edit: {
    title: 'Change your details',
    submit: 'Save',
    cancel: 'Cancel',
  },
  email: {
    title: 'Change your email address',
    intro: 'We will email the new address a link and a code. Nothing changes until you confirm it.',
    field: 'New email address',
    submit: 'Email me a confirmation',
    checkTitle: 'Confirm your new address',
    checkBody:
      'If the address can be used, we have sent it an email with a link and a 6-digit code. They work for 15 minutes, once.',
    checkSubmit: 'Confirm with the code',
    done: 'Your email address has been changed. You can close this page.',
  },
  messages: {
    linkInvalidTitle: 'This link is no longer valid',
    linkInvalid: 'Links work once, for a short time. Ask for a new one.',
    linkUnknownTitle: 'This link does not work',
    linkUnknown: 'Check that you copied the whole link, or ask for a new one.',
    signInAgain: 'Sign in with your email',
    signedOutTitle: 'You are signed out',
    signedOut: 'You have been signed out.',
    sessionEndedTitle: 'Your session has ended',
    sessionEnded: 'Sign in again to continue.',
    forbiddenTitle: 'This form has expired',
    forbidden: 'For your safety the form could not be sent. Go back, reload the page and try again.',
    notFoundTitle: 'Page not found',
    notFound: 'There is no page at this address.',
    errorTitle: 'Something went wrong',
    error: 'Please try again in a moment.',
    requestTitle: 'This request could not be read',
    request: 'Go back and try again.',
  },
  mail: {
    signInSubject: (merchant: string) => `Sign in to ${merchant}`,
    signInIntro: (merchant: string) => `Someone asked to sign in to ${merchant} with this email address.`,
    confirmSubject: (merchant: string) => `Confirm your new email address for ${merchant}`,
    confirmIntro: (merchant: string) =>
      `Someone asked to make this the email address of an account with ${merchant}.`,
    button: 'Sign in',
    confirmButton: 'Confirm this address',
    codeIntro: 'Or type this code on the page where you asked:',
    expires: (minutes: number, at: string) =>
      `The link and the code work once, for ${minutes} minutes (until ${at} UTC).`,
    ignore: 'If this was not you, ignore this email: nothing happens until the link or the code is used.',
    changedSubject: (merchant: string) => `Your email address for ${merchant} was changed`,
    changedBody: (merchant: string) =>
      `The email address of your account with ${merchant} was changed. This address will no longer receive its emails.`,
    changedHelp: (merchant: string) => `If you did not do this, contact ${merchant} straight away.`,
  },
};

export type Texts = typeof en;
