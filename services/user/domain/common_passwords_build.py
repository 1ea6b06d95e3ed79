"""Regenerates ``common_passwords.txt``, the shipped list of common passwords.

Nothing is downloaded: the list is built from the passwords that top every
published breach ranking, frequent words and names, keyboard walks and digit
runs, combined with the suffixes people add to pass a length rule (digits,
years, "!"). The password policy also reduces a candidate to its "base" (see
``password_policy.base_word``), so ``Summer2024!`` is caught through ``summer``.

Run ``python -m services.user.domain.common_passwords_build`` after editing the
word lists; the output is sorted and de-duplicated so diffs stay readable.
"""

from __future__ import annotations

from pathlib import Path

OUTPUT = Path(__file__).with_name("common_passwords.txt")

TOP = """
123456 password 12345678 qwerty 123456789 12345 1234 111111 1234567 dragon 123123 baseball
abc123 football monkey letmein 696969 shadow master 666666 qwertyuiop 123321 mustang 1234567890
michael 654321 superman 1qaz2wsx 7777777 121212 000000 qazwsx 123qwe killer trustno1 jordan
jennifer zxcvbnm asdfgh hunter buster soccer harley batman andrew tigger sunshine iloveyou 2000
charlie robert thomas hockey ranger daniel starwars klaster 112233 george computer michelle
jessica pepper 1111 zxcvbn 555555 11111111 131313 freedom 777777 pass maggie 159753 aaaaaa
ginger princess joshua cheese amanda summer love ashley nicole chelsea biteme matthew access
yankees 987654321 dallas austin thunder taylor matrix william corvette hello martin heather
secret merlin diamond 1234qwer gfhjkm hammer silver 222222 88888888 anthony justin test bailey
q1w2e3r4t5 patrick internet scooter orange 11111 golfer cookie richard samantha bigdog guitar
jackson whatever mickey chicken sparky snoopy maverick phoenix camaro peanut morgan welcome
falcon cowboy ferrari samsung andrea smokey steelers joseph mercedes dakota arsenal eagles
melissa boomer booboo spider nascar monster tigers yellow xxxxxx 123123123 gateway marina
diablo bulldog qwer1234 compaq purple hardcore banana junior hannah 123654 porsche lakers
iceman money cowboys 987654 london tennis 999999 ncc1701 coffee scooby 0000 miller boston
q1w2e3r4 fuckoff brandon yamaha chester mother forever johnny edward 333333 oliver redsox
player nikita knight fender barney midnight please brandy chicago badboy slayer rangers
charles angel flower bigdaddy rabbit wizard bigdick jasper enter rachel chris steven winner
adidas victoria natasha 1q2w3e4r jasmine winter prince panties marine ghbdtn fishing cocacola
casper james 232323 raiders 888888 marlboro gandalf asdfasdf crystal 87654321 12344321 golden
8675309 qweasdzxc qweasd blowme 101010 danielle beavis snowball apple apples butter gunner
password1 passw0rd p@ssw0rd p@ssword pa55word admin administrator root toor changeme default
guest login welcome1 letmein1 master1 qwerty123 qwerty1 abc12345 abcd1234 1q2w3e 1q2w3e4r5t
zaq12wsx zaq1zaq1 qazwsxedc 1qazxsw2 azerty azertyuiop qwertz qwertzuiop asdfghjkl asdfghjk
zxcvbnm123 iloveu iloveyou1 lovely loveme loveyou babygirl baby bubbles butterfly sweety
sweetheart pokemon naruto minecraft fortnite roblox superstar rockstar starwars1 freedom1
trustme secret123 hello123 hellokitty abcdef abcdefg abcdefgh abcdefghi abcdefghij abcdefghijk
abcdefghijkl 123abc a1b2c3 a1b2c3d4 aa123456 qq123456 111222 121314 123454321 147258369
147258 159357 192837465 246810 2580 369369 456789 5201314 520520 654321a 666999 789456123
789456 852456 963852741 112358 314159 31415926 271828 nopassword password12 password123
password1234 passwordpassword mypassword yourpassword thepassword newpassword oldpassword
temppassword temp1234 test1234 testing testtest demo demo1234 sample example letmeinnow
openup opensesame sesame bitcoin crypto ethereum blockchain money123 cash dollar euro
banking bank finance fintech nexafi payment credit ledger wallet
correcthorsebatterystaple correcthorse trustnoone 1234abcd qwertyui qwertyu
"""

WORDS = """
alexander alexandra alice amber america angela angels anna apollo april arthur asshole
august autumn baby1 barcelona baseball1 basketball bear beautiful beauty benjamin berlin
bigboy billy birdie black blink182 blue bond007 brittany broncos brooklyn brother buddy
bullshit butthead calvin cameron canada captain carlos caroline carter cassie catherine
celtic champion chance charlotte cheyenne chocolate christian christmas christine cindy
claire claudia clown college colorado cooper corona country courtney cricket cupcake dance
daniela darkness darling david december denise dennis destiny devil dexter diamonds digital
dolphin dolphins donald doctor dragons dreams driver eagle eagle1 elephant elizabeth emily
eminem energy england eric europe family fantasy february fire fireball fish flowers ford
france francis frank freddy friend friends fuckyou gabriel galaxy garden gemini germany
giants girl girls gold golf goodluck google gordon grace green gregory guitar1 hacker happy
happy1 harry hawaii heaven hello1 helpme hockey1 holiday home honda honey horse hotdog house
houston hunter1 hunting ireland isabella italia jack jackie jaguar january jason jeremy
jesus jesus1 john jonathan joseph1 juice july june jupiter justice kevin killer1 kimberly
king kitten kitty lauren laura lemon liberty lifehack light linda lion liverpool lol lollipop
london1 lovers lucky lucky1 madison magic magnum malibu manchester march maria marley mars
martin1 marvel mary matthew1 maxwell melody memphis mercury mexico miami michael1 midnight1
mike milano millie minnie mirror monday monica monkey1 moon morning mountain movie music
mylove mustang1 mystery natalie nathan nature newyork nicholas nicole1 nintendo nissan
november ocean october olivia orange1 oscar packers panda panther paradise paris parker
passion pasword patricia peace peaches penguin pepper1 peter phantom phoenix1 pickle pink
pirate pizza player1 poohbear power pretty princess1 pumpkin purple1 puppy qwerty12 rachel1
rainbow raven rebecca redskins remember river robert1 robin rocket rocky romeo rose rosebud
ruby runner russia sabrina sailor sakura sally samson samuel santa sarah saturn saturday
scarface school scorpion scotland secret1 september shadow1 shannon shark sierra silver1
simple simpsons skater skippy smile snake snickers snoopy1 snow soccer1 soleil sophie spain
sparkle special spencer spiderman spirit sports spring star stars steelers1 stella stephanie
stupid success summer1 sunday sunflower sunny sunshine1 super surfer susan sweet swimming
sydney system teacher teddy teddybear texas thomas1 thunder1 tiffany tiger tigger1 time
titanic tomcat toyota travel trinity trouble turtle twilight unicorn united universe vanessa
victor victory viking vincent violet virginia warrior water welcome123 whatever1 white
william1 willow wilson windows winston winter1 wolf wolves women wonder world xavier yankee
yellow1 yoyoyo zachary zeppelin zombie
"""

KEYBOARD_WALKS = """
qwertyuiop asdfghjkl zxcvbnm qwertyuiopasdfghjkl qwertyuiop123 qwertyuiop1234 1qaz2wsx3edc
1qaz2wsx3edc4rfv qazwsxedcrfv qazwsxedcrfvtgb zaq12wsxcde3 1q2w3e4r5t6y 1q2w3e4r5t6y7u
q1w2e3r4t5y6 q1w2e3r4t5y6u7 !qaz@wsx#edc !qaz2wsx#edc4rfv 1qaz@wsx 1qaz!qaz asdfghjkl123
asdfghjkl; zxcvbnm,./ qweasdzxc123 qweqweqwe asdasdasd zxczxczxc 123qweasdzxc 1234qwerasdf
1234qwerasdfzxcv qwerasdfzxcv poiuytrewq lkjhgfdsa mnbvcxz 0987654321 9876543210
123456789012 1234567890123 098765432109 12345678910 1234512345 123123123123 111111111111
000000000000 121212121212 123412341234 112233445566 123456654321 147852369 741852963
qwerty123456 qwerty12345 qwertyqwerty asdfasdfasdf iloveyouiloveyou passwordpassword1
"""

SUFFIXES = ("", "1", "12", "123", "1234", "12345", "!", "1!", "123!", "01", "2023", "2024", "2025")


def build() -> list[str]:
    entries: set[str] = set()
    bases = TOP.split() + WORDS.split()
    for base in bases:
        for suffix in SUFFIXES:
            entries.add(base + suffix)
    entries.update(KEYBOARD_WALKS.split())
    entries.update(str(year) for year in range(1940, 2031))
    for digit in "0123456789":
        for length in range(6, 13):
            entries.add(digit * length)
    return sorted(entries)


def main() -> None:
    OUTPUT.write_text("\n".join(build()) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
