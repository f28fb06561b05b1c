package seed

// The name pools the generator draws from. They follow what a village
// register in 上饶/玉山 looks like: a few clan surnames carry most of the
// households, given names are the two-character names of farmers born
// between the 1950s and the 1990s.
//
// The names of the people in the story (章仁标, his wife 徐冬凤, 章吉仙,
// 邱锦) are left out on purpose, so a generated household is never
// mistaken for theirs.

// surname is a surname and its weight in the pool.
type surname struct {
	name   string
	weight int
}

var surnames = []surname{
	{"章", 12}, {"徐", 10}, {"邱", 6}, {"吴", 6}, {"王", 6}, {"汪", 5},
	{"李", 5}, {"张", 5}, {"刘", 5}, {"陈", 5}, {"胡", 4}, {"余", 4},
	{"杨", 3}, {"黄", 3}, {"周", 3}, {"郑", 3}, {"程", 3}, {"叶", 3},
	{"毛", 3}, {"朱", 3}, {"祝", 2}, {"郭", 2}, {"方", 2}, {"姜", 2},
	{"廖", 1}, {"彭", 1}, {"管", 1}, {"柴", 1},
}

var surnameTotal = func() int {
	n := 0
	for _, s := range surnames {
		n += s.weight
	}
	return n
}()

var maleGiven = []string{
	"火根", "水根", "金根", "细根", "木根", "宝根", "樟根", "春生", "水生", "冬生",
	"长生", "福生", "金生", "根生", "桂生", "秋生", "荣生", "贵生", "国华", "建华",
	"振华", "荣华", "新华", "正华", "炳华", "文华", "建国", "国平", "和平", "志平",
	"海平", "德胜", "得胜", "光明", "志明", "国明", "春明", "启明", "福林", "桂林",
	"长林", "有林", "松林", "茂林", "建林", "春林", "冬林", "宝林", "观林", "发林",
	"樟林", "炎林", "来福", "接福", "来旺", "金发", "根发", "水发", "顺发", "仁贵",
	"仁和", "仁发", "吉祥", "吉庆", "文斌", "文辉", "志强", "志刚", "志勇", "志军",
	"建军", "红军", "卫东", "向东", "晓东", "海龙", "云龙", "立新", "立军", "正荣",
	"炳荣", "炳炎", "细毛", "新民", "为民", "利民", "家旺", "家兴", "永兴", "永福",
	"永红", "万里", "天明", "天保", "德华", "德林", "德明", "土根", "土生", "灶生",
}

var femaleGiven = []string{
	"冬英", "秋英", "春英", "桂英", "金英", "玉英", "凤英", "春花", "桂花", "菊花",
	"兰花", "莲花", "秋兰", "玉兰", "秀兰", "金兰", "水莲", "秋莲", "细妹", "小妹",
	"冬梅", "红梅", "雪梅", "美华", "丽华", "桂香", "金香", "秋香", "玉珍", "秀珍",
	"凤娇", "月娥", "素琴", "招娣", "满香", "水仙", "腊梅", "荷花",
}

// fieldNames are the names farmers give their fields: where they lie
// (by the door, below the pond, behind the ridge) or what they look like.
var fieldNames = []string{
	"门口田", "塘下垄", "大丘", "岭背田", "屋背田", "长丘", "坑里田", "垄口田",
	"上丘", "下丘", "圳边田", "山脚田", "河边田", "樟树下", "沙洲田", "井头田",
	"桥头田", "冲里田", "水口田", "秧田边", "排上田", "坝下田", "陂头田", "湾里田",
	"四方丘", "月牙丘", "祠堂前", "路边田",
}

// chineseNumerals name the first ten teams: 第一互助队 … 第十互助队.
var chineseNumerals = []string{"一", "二", "三", "四", "五", "六", "七", "八", "九", "十"}
